// The decision table: a Decision in and out (etag from its version column; its themes and
// responses stored as '\n'-joined ids), its keyset list and delete, and the published decisions
// "you said, we did" lists. Every function runs inside the caller's transaction.
#ifndef DORSET_SERVICES_ENGAGEMENT_STORAGE_DECISION_ROWS_H_
#define DORSET_SERVICES_ENGAGEMENT_STORAGE_DECISION_ROWS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dorset/engagement/v1/engagement.pb.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "runtime/storage/database.h"
#include "runtime/storage/keyset_page.h"

namespace dorset::engagement {

// NOT_FOUND (Decision) when there is no such row.
absl::StatusOr<v1::Decision> LoadDecision(runtime::storage::Transaction& tx,
                                          const std::string& activity, const std::string& id);
// Inserts (ALREADY_EXISTS for a taken id) or updates the row to `decision` at `version`, with the
// ids of the themes and responses it refers to (already checked; decision.themes and
// decision.responses are not read).
absl::Status SaveDecision(runtime::storage::Transaction& tx, const std::string& activity,
                          const std::string& id, const v1::Decision& decision,
                          const std::vector<std::string>& theme_ids,
                          const std::vector<std::string>& response_ids, int64_t version,
                          bool insert);
// One page of the activity's decisions in id order.
absl::Status ListDecisionRows(runtime::storage::Transaction& tx,
                              const runtime::storage::KeysetPage& page, const std::string& activity,
                              google::protobuf::RepeatedPtrField<v1::Decision>& items,
                              std::string* next_page_token);
absl::Status DeleteDecisionRow(runtime::storage::Transaction& tx, const std::string& activity,
                               const std::string& id);

// Ids of the activity's published decisions in id order, at most `limit`.
absl::StatusOr<std::vector<std::string>> PublishedDecisionIds(runtime::storage::Transaction& tx,
                                                              const std::string& activity,
                                                              int limit);

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_STORAGE_DECISION_ROWS_H_
