// The decision table's SQL (moving here from themes_decisions.cc; see docs/storage.md): for now the
// published decisions "you said, we did" lists.
#ifndef DORSET_SERVICES_ENGAGEMENT_STORAGE_DECISION_ROWS_H_
#define DORSET_SERVICES_ENGAGEMENT_STORAGE_DECISION_ROWS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/storage/database.h"

namespace dorset::engagement {

// Ids of the activity's published decisions in id order, at most `limit`.
absl::StatusOr<std::vector<std::string>> PublishedDecisionIds(runtime::storage::Transaction& tx,
                                                              const std::string& activity,
                                                              int limit);

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_STORAGE_DECISION_ROWS_H_
