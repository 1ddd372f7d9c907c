// The activity table: an Activity in and out (etag from its version column), its keyset list,
// and the delete of a DRAFT activity with its themes, decisions and counters. Every function runs
// inside the caller's transaction.
#ifndef DORSET_SERVICES_ENGAGEMENT_STORAGE_ACTIVITY_ROWS_H_
#define DORSET_SERVICES_ENGAGEMENT_STORAGE_ACTIVITY_ROWS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "dorset/engagement/v1/engagement.pb.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "runtime/storage/database.h"
#include "runtime/storage/keyset_page.h"

namespace dorset::engagement {

// NOT_FOUND (Activity) when there is no such row.
absl::StatusOr<v1::Activity> LoadActivity(runtime::storage::Transaction& tx, const std::string& id);
// NOT_FOUND (Activity) unless the activity exists.
absl::Status RequireActivity(runtime::storage::Transaction& tx, const std::string& id);
// Whether the store has any activity.
absl::StatusOr<bool> AnyActivity(runtime::storage::Transaction& tx);
// Inserts (ALREADY_EXISTS for a taken id) or updates the row to `activity` at `version`.
absl::Status SaveActivity(runtime::storage::Transaction& tx, const std::string& id,
                          const v1::Activity& activity, int64_t version, bool insert);
// One page of activities in id order, in `state` (UNSPECIFIED: every state).
absl::Status ListActivityRows(runtime::storage::Transaction& tx,
                              const runtime::storage::KeysetPage& page, v1::ActivityState state,
                              google::protobuf::RepeatedPtrField<v1::Activity>& items,
                              std::string* next_page_token);
// Whether any response (bulk-loaded ones too) belongs to the activity.
absl::StatusOr<bool> ActivityHasResponses(runtime::storage::Transaction& tx, const std::string& id);
// Deletes the activity with its decisions, themes and counter cells.
absl::Status DeleteActivityRows(runtime::storage::Transaction& tx, const std::string& id);

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_STORAGE_ACTIVITY_ROWS_H_
