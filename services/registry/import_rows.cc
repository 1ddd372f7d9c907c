#include "services/registry/import_rows.h"

#include <memory>
#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "runtime/base/string_view.h"
#include "runtime/status/status_macros.h"
#include "services/registry/import_row_kinds.h"
#include "services/registry/importer.h"
#include "services/registry/text.h"
#include "services/registry/validation.h"

namespace dorset::registry {
namespace import_rows_internal {

bool InScope(const std::string& commissioner, const std::string& row_commissioner) {
  return commissioner == kAllCommissioners || row_commissioner == commissioner;
}

std::string Trimmed(const std::string& s) { return std::string(absl::StripAsciiWhitespace(s)); }

// Remembers the first line of `key` in this import; returns the reason for a repeat.
absl::StatusOr<std::optional<std::string>> Duplicate(WriteTx& tx, const std::string& key, int line,
                                                     std::string_view what) {
  ASSIGN_OR_RETURN(std::optional<WriteTx::Seen> seen, tx.SeeOnce(key, line, ""));
  if (!seen) return std::nullopt;
  return absl::StrCat("duplicate ", std::string(what), " (first at line ", seen->line, ")");
}

}  // namespace import_rows_internal

namespace {

using import_rows_internal::kEpraccurFields;
using import_rows_internal::MakeAssignmentRows;
using import_rows_internal::MakeEpraccurRows;
using import_rows_internal::MakeListSizeRows;
using import_rows_internal::MakeLocalityRows;
using import_rows_internal::Trimmed;

constexpr int kMaxRejectionsListed = 1000;

bool HasColumn(const CsvRecord& header, std::string_view name) {
  for (const std::string& f : header.fields) {
    if (absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(f), ToAbsl(name))) return true;
  }
  return false;
}

}  // namespace

void ImportCounts::Reject(int line, std::string_view reason, std::string_view code) {
  report_.set_rejected(report_.rejected() + 1);
  if (report_.rejections_size() >= kMaxRejectionsListed) return;
  auto* r = report_.add_rejections();
  r->set_line(line);
  r->set_reason(ForReply(reason, 200));
  r->set_ods_code(ForReply(code, 16));
}

std::unique_ptr<RowImporter> MakeRowImporter(v1::ImportKind kind, WriteTx& tx,
                                             const std::string& commissioner, ImportCounts& counts,
                                             bool override_local_closures) {
  switch (kind) {
    case v1::IMPORT_KIND_EPRACCUR:
      return MakeEpraccurRows(tx, commissioner, counts, override_local_closures);
    case v1::IMPORT_KIND_LIST_SIZES:
      return MakeListSizeRows(tx, commissioner, counts);
    case v1::IMPORT_KIND_LOCALITIES:
      return MakeLocalityRows(tx, counts);
    case v1::IMPORT_KIND_PRACTICE_LOCALITIES:
      return MakeAssignmentRows(tx, counts);
    default:
      return nullptr;
  }
}

v1::ImportKind GuessKind(const CsvRecord& first) {
  if (first.fields.size() == kEpraccurFields && IsPracticeCode(Trimmed(first.fields[0]))) {
    return v1::IMPORT_KIND_EPRACCUR;
  }
  if (HasColumn(first, "CODE") && HasColumn(first, "NUMBER_OF_PATIENTS"))
    return v1::IMPORT_KIND_LIST_SIZES;
  if (HasColumn(first, "locality_id") && HasColumn(first, "locality_name"))
    return v1::IMPORT_KIND_LOCALITIES;
  if (HasColumn(first, "ods_code") && HasColumn(first, "locality_id")) {
    return v1::IMPORT_KIND_PRACTICE_LOCALITIES;
  }
  return v1::IMPORT_KIND_UNSPECIFIED;
}

}  // namespace dorset::registry
