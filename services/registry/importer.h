// Imports of the NHS's files as published (epraccur, the list-size CSV) and of the Dorset
// locality files. Each import parses the whole file first (rejecting bad rows with their line
// and reason), then applies the good rows in ONE store transaction: re-importing the same file
// changes nothing, and a failure leaves the store as it was.
#ifndef DORSET_SERVICES_REGISTRY_IMPORTER_H_
#define DORSET_SERVICES_REGISTRY_IMPORTER_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "dorset/registry/v1/registry.pb.h"
#include "services/registry/store.h"

namespace dorset::registry {

// The default commissioner: NHS Dorset.
inline constexpr std::string_view kDorsetCommissioner = "11J";
// The commissioner value that takes every row.
inline constexpr std::string_view kAllCommissioners = "all";

struct ImportOutcome {
  v1::ImportReport report;
  std::vector<CommittedChange> changes;  // empty for validate_only and repeats
};

// Runs one import. INVALID_ARGUMENT for bad options, an empty file or a missing header;
// bad rows are not errors: they are rejected in the report.
absl::StatusOr<ImportOutcome> RunImport(Store& store, const v1::ImportOptions& options,
                                        std::string_view content, const std::string& actor);

}  // namespace dorset::registry

#endif  // DORSET_SERVICES_REGISTRY_IMPORTER_H_
