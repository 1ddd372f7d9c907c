// The response table outside the group commit (services/engagement/storage/response_batch.h
// has the hot path's): one response by its activity and number, as a Response (etag from its
// version column), an activity's responses in id order, moderation's update, and the encoding of
// who assigned each theme (response.theme_assignments).
#ifndef DORSET_SERVICES_ENGAGEMENT_STORAGE_RESPONSE_ROWS_H_
#define DORSET_SERVICES_ENGAGEMENT_STORAGE_RESPONSE_ROWS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "dorset/engagement/v1/engagement.pb.h"
#include "runtime/storage/database.h"

namespace dorset::engagement {

// NOT_FOUND (Response) unless response `id` of `activity` exists.
absl::StatusOr<v1::Response> LoadResponse(runtime::storage::Transaction& tx,
                                          const std::string& activity, int64_t id);

// Whether response `id` of `activity` exists.
absl::StatusOr<bool> ResponseExists(runtime::storage::Transaction& tx, const std::string& activity,
                                    int64_t id);
// Hands the activity's responses after id `after`, in id order and at most `limit`, to `take`
// until it returns false.
absl::Status ForResponsesAfter(runtime::storage::Transaction& tx, const std::string& activity,
                               int64_t after, int limit,
                               absl::FunctionRef<bool(v1::Response)> take);
// Sets the response's themes (ids), their assignments (who coded what: response.theme_assignments)
// and sentiment at `version`, updated at `now` (micros).
absl::Status UpdateResponseRow(
    runtime::storage::Transaction& tx, int64_t id, const std::vector<std::string>& theme_ids,
    const google::protobuf::RepeatedPtrField<v1::ThemeAssignment>& assignments,
    v1::Sentiment sentiment, int64_t now, int64_t version);

// The response.theme_assignments column: one line per assignment, tab-separated fields (theme
// id, method, assign time in micros, theme coding number or 0, rule number or 0, the principal
// C-escaped so no tab or newline of it can break the line); "" for none.
std::string EncodeThemeAssignments(
    const google::protobuf::RepeatedPtrField<v1::ThemeAssignment>& assignments);
// The column back as assignments of `activity`'s themes; lines it cannot read are skipped.
void DecodeThemeAssignments(const std::string& activity, const std::string& encoded,
                            google::protobuf::RepeatedPtrField<v1::ThemeAssignment>* out);

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_STORAGE_RESPONSE_ROWS_H_
