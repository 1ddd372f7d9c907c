// The theme table: a Theme in and out (etag from its version column), its keyset list, whether
// responses or decisions still use a theme, and its delete with its zero counter cells. Every
// function runs inside the caller's transaction.
#ifndef DORSET_SERVICES_ENGAGEMENT_STORAGE_THEME_ROWS_H_
#define DORSET_SERVICES_ENGAGEMENT_STORAGE_THEME_ROWS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "dorset/engagement/v1/engagement.pb.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "runtime/storage/database.h"
#include "runtime/storage/keyset_page.h"

namespace dorset::engagement {

// NOT_FOUND (Theme) when there is no such row.
absl::StatusOr<v1::Theme> LoadTheme(runtime::storage::Transaction& tx, const std::string& activity,
                                    const std::string& id);
absl::StatusOr<bool> ThemeExists(runtime::storage::Transaction& tx, const std::string& activity,
                                 const std::string& id);
// Inserts (ALREADY_EXISTS for a taken id) or updates the row to `theme` at `version`.
absl::Status SaveTheme(runtime::storage::Transaction& tx, const std::string& activity,
                       const std::string& id, const v1::Theme& theme, int64_t version, bool insert);
// One page of the activity's themes in id order.
absl::Status ListThemeRows(runtime::storage::Transaction& tx,
                           const runtime::storage::KeysetPage& page, const std::string& activity,
                           google::protobuf::RepeatedPtrField<v1::Theme>& items,
                           std::string* next_page_token);
// Who still uses the theme: a response tagged with it or a decision answering it.
enum class ThemeUser { kNone, kResponse, kDecision };
absl::StatusOr<ThemeUser> FindThemeUser(runtime::storage::Transaction& tx,
                                        const std::string& activity, const std::string& id);
// Deletes the theme and its counter cells (which must be at zero: FindThemeUser said kNone).
absl::Status DeleteThemeRows(runtime::storage::Transaction& tx, const std::string& activity,
                             const std::string& id);

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_STORAGE_THEME_ROWS_H_
