// Fuzzes the NHS CSV reader, the checks every imported field goes through, and the four
// importers end to end on a real store: whatever the bytes, an import either refuses the file
// (INVALID_ARGUMENT) or returns a report whose counts add up (rows read = skipped + added +
// changed + unchanged + rejected) and that decodes (every string valid UTF-8), and afterwards
// every read path of the store still answers.
#include <cstdint>
#include <string>

#include "fuzz/fuzz_store.h"
#include "services/registry/csv_reader.h"
#include "services/registry/importer.h"
#include "services/registry/validation.h"

namespace {

namespace v1 = dorset::registry::v1;

void CheckReader(const std::string& input) {
  dorset::registry::CsvReader reader(input);
  dorset::registry::CsvRecord record;
  std::string error;
  int last_line = 0;
  for (int guard = 0; guard < 100000; ++guard) {
    const auto result = reader.Next(record, error);
    if (result == dorset::registry::CsvReader::Result::kEnd) break;
    // Lines only move forward: a reader that loops or goes back is a bug.
    if (record.line < last_line) __builtin_trap();
    last_line = record.line;
    if (result != dorset::registry::CsvReader::Result::kRecord) continue;
    for (const std::string& field : record.fields) {
      dorset::registry::IsPracticeCode(field);
      dorset::registry::NormalizePostcode(field);
      dorset::registry::OdsDateToIso(field);
      dorset::registry::IsTelephone(field);
      dorset::registry::IsGoodName(field);
    }
  }
}

void CheckImport(const std::string& input, v1::ImportKind kind, bool commit) {
  dorset::registry::Store& store = dorset::fuzz::FuzzStore();
  v1::ImportOptions options;
  options.set_kind(kind);
  options.set_commissioner("all");
  options.set_validate_only(!commit);
  absl::StatusOr<dorset::registry::ImportOutcome> outcome =
      dorset::registry::RunImport(store, options, input, "fuzz");
  if (!outcome.ok()) {
    if (outcome.status().code() != absl::StatusCode::kInvalidArgument) __builtin_trap();
    return;
  }
  if (!dorset::registry::CheckReportArithmetic(outcome->report).ok()) __builtin_trap();
}

void CheckReads() {
  dorset::registry::Store& store = dorset::fuzz::FuzzStore();
  if (!store.ListPractices({}, std::nullopt, 100).ok()) __builtin_trap();
  if (!store.ChangesAfter(0, 100).ok()) __builtin_trap();
  if (!store.Localities("").ok() || !store.Clusters().ok()) __builtin_trap();
  bool found = false;
  if (!store.Summary("11J", &found).ok()) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  CheckReader(input);
  CheckImport(input, v1::IMPORT_KIND_EPRACCUR, /*commit=*/true);
  CheckImport(input, v1::IMPORT_KIND_LIST_SIZES, /*commit=*/false);
  CheckImport(input, v1::IMPORT_KIND_LOCALITIES, /*commit=*/true);
  CheckImport(input, v1::IMPORT_KIND_PRACTICE_LOCALITIES, /*commit=*/false);
  CheckReads();
  return 0;
}
