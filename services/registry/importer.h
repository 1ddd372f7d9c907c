// Imports of the NHS's files as published (epraccur, the list-size CSV) and of the Dorset
// locality files. An import streams the file once, record by record, inside ONE store
// transaction: bad rows are rejected with their line and reason, good rows are applied as
// they are read, and a failure leaves the store as it was. Memory stays flat whatever the
// file's size (one record at a time; duplicate detection lives in the store's scratch
// table). Re-importing the same file changes nothing.
//
// Counting: every record after the header is exactly one of skipped (another
// commissioner), added, changed, unchanged or rejected, so
//   rows_read = rows_skipped + added + changed + unchanged + rejected
// always (CheckReportArithmetic, also asserted by the ODS fuzzer).
#ifndef DORSET_SERVICES_REGISTRY_IMPORTER_H_
#define DORSET_SERVICES_REGISTRY_IMPORTER_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "dorset/registry/v1/registry.pb.h"
#include "services/registry/csv_reader.h"
#include "services/registry/storage/store.h"

namespace dorset::registry {

// The default commissioner: NHS Dorset.
inline constexpr std::string_view kDorsetCommissioner = "11J";
// The commissioner value that takes every row.
inline constexpr std::string_view kAllCommissioners = "all";

struct ImportOutcome {
  v1::ImportReport report;
  // The committed changes, for caches and watchers; empty for validate_only and repeats. A
  // very large import lists only the first kMaxListedChanges; `changes_unlisted` is then set
  // and the rest are read back from the change feed (report.first/last_sequence).
  std::vector<CommittedChange> changes;
  bool changes_unlisted = false;
  // The commissioners of the unlisted changes (before and after), for summary invalidation.
  std::vector<std::string> unlisted_commissioners;
};

// Checks the options alone (before any byte of the file is read).
absl::Status CheckImportOptions(const v1::ImportOptions& options);

// Runs one import over `source`. INVALID_ARGUMENT for bad options, an empty file or a missing
// header; bad rows are not errors: they are rejected in the report.
// `request_hash`: runtime::RequestHash(options, the whole file) (a RequestHasher fed while the
// upload arrives), kept with options.request_id: the same id with another file or other options
// is ALREADY_EXISTS (runtime/api/request_id.h).
absl::StatusOr<ImportOutcome> RunImport(Store& store, const v1::ImportOptions& options,
                                        CsvSource& source, std::string_view request_hash,
                                        const std::string& actor);
absl::StatusOr<ImportOutcome> RunImport(Store& store, const v1::ImportOptions& options,
                                        std::string_view content, const std::string& actor);

// OK when the report's counts add up (see above) and every string in it is valid UTF-8.
absl::Status CheckReportArithmetic(const v1::ImportReport& report);

}  // namespace dorset::registry

#endif  // DORSET_SERVICES_REGISTRY_IMPORTER_H_
