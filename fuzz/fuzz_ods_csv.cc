// Fuzzes the NHS CSV reader and the checks every imported field goes through.
#include <cstdint>
#include <string>

#include "services/registry/csv_reader.h"
#include "services/registry/validation.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
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
  return 0;
}
