// The theme_coding table: the record of each applied bulk theme coding of an activity. Every
// function runs inside the caller's transaction.
#ifndef DORSET_SERVICES_ENGAGEMENT_STORAGE_THEME_CODING_ROWS_H_
#define DORSET_SERVICES_ENGAGEMENT_STORAGE_THEME_CODING_ROWS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dorset/engagement/v1/engagement.pb.h"
#include "runtime/storage/database.h"

namespace dorset::engagement {

// Stores `coding` as the activity's next one; returns its number (from 1) and sets its name.
absl::StatusOr<int64_t> AppendThemeCoding(runtime::storage::Transaction& tx,
                                          const std::string& activity, v1::ThemeCoding& coding);
// Codings after number `after`, oldest first, at most `limit`.
absl::StatusOr<std::vector<v1::ThemeCoding>> ThemeCodingsAfter(runtime::storage::Transaction& tx,
                                                               const std::string& activity,
                                                               int64_t after, int limit);

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_STORAGE_THEME_CODING_ROWS_H_
