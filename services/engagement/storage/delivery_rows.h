// The delivery_change table: the history of a decision's delivery (the latest row is its current
// delivery). Every function runs inside the caller's transaction.
#ifndef DORSET_SERVICES_ENGAGEMENT_STORAGE_DELIVERY_ROWS_H_
#define DORSET_SERVICES_ENGAGEMENT_STORAGE_DELIVERY_ROWS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dorset/engagement/v1/engagement.pb.h"
#include "runtime/storage/database.h"

namespace dorset::engagement {

// Appends `delivery` with `note` as the decision's next change; returns its number (from 1).
absl::StatusOr<int64_t> AppendDeliveryChange(runtime::storage::Transaction& tx,
                                             const std::string& activity,
                                             const std::string& decision,
                                             const v1::Delivery& delivery, const std::string& note);
// The decision's current delivery; nullopt before its first change.
absl::StatusOr<std::optional<v1::Delivery>> LatestDelivery(runtime::storage::Transaction& tx,
                                                           const std::string& activity,
                                                           const std::string& decision);
// Changes after number `after`, oldest first, at most `limit`.
absl::StatusOr<std::vector<v1::DeliveryChange>> DeliveryChangesAfter(
    runtime::storage::Transaction& tx, const std::string& activity, const std::string& decision,
    int64_t after, int limit);
// Removes the history of one decision, or of every decision of the activity when `decision` is
// empty.
absl::Status DeleteDeliveryChanges(runtime::storage::Transaction& tx, const std::string& activity,
                                   const std::string& decision);

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_STORAGE_DELIVERY_ROWS_H_
