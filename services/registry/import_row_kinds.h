// The row importers of each import kind and the helpers they share; import_rows.cc chooses one
// (MakeRowImporter). Internal to the registry's importer: callers use import_rows.h.
//   epraccur_rows.cc  the ODS practice file (no header, 27 fields), applied in batches
//   header_rows.cc    the header-driven CSVs: list sizes, localities, practice localities
#ifndef DORSET_SERVICES_REGISTRY_IMPORT_ROW_KINDS_H_
#define DORSET_SERVICES_REGISTRY_IMPORT_ROW_KINDS_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "services/registry/import_rows.h"
#include "services/registry/storage/store.h"

namespace dorset::registry::import_rows_internal {

// Fields in a record of epraccur.csv.
inline constexpr int kEpraccurFields = 27;

// Whether a row of `row_commissioner` belongs to an import for `commissioner` ("all" or a code).
bool InScope(const std::string& commissioner, const std::string& row_commissioner);
std::string Trimmed(const std::string& s);
// Remembers the first line of `key` in this import; returns the reason for a repeat.
absl::StatusOr<std::optional<std::string>> Duplicate(WriteTx& tx, const std::string& key, int line,
                                                     std::string_view what);

std::unique_ptr<RowImporter> MakeEpraccurRows(WriteTx& tx, const std::string& commissioner,
                                              ImportCounts& counts, bool override_local_closures);
std::unique_ptr<RowImporter> MakeListSizeRows(WriteTx& tx, const std::string& commissioner,
                                              ImportCounts& counts);
std::unique_ptr<RowImporter> MakeLocalityRows(WriteTx& tx, ImportCounts& counts);
std::unique_ptr<RowImporter> MakeAssignmentRows(WriteTx& tx, ImportCounts& counts);

}  // namespace dorset::registry::import_rows_internal

#endif  // DORSET_SERVICES_REGISTRY_IMPORT_ROW_KINDS_H_
