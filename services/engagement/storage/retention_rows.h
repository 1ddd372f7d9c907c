// The retention query: stakeholders not yet erased whose last activity (the later of their last
// change and their last response) is before a cutoff. Runs inside the caller's transaction.
#ifndef DORSET_SERVICES_ENGAGEMENT_STORAGE_RETENTION_ROWS_H_
#define DORSET_SERVICES_ENGAGEMENT_STORAGE_RETENTION_ROWS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/storage/database.h"

namespace dorset::engagement {

struct RetentionRow {
  std::string stakeholder_id;
  int64_t last_activity_micros = 0;
};

// Every such stakeholder, in id order.
absl::StatusOr<std::vector<RetentionRow>> StakeholdersInactiveSince(
    runtime::storage::Transaction& tx, int64_t cutoff_micros);

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_STORAGE_RETENTION_ROWS_H_
