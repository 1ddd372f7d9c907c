// The response table's reads (moving here from responses.cc; see docs/storage.md): one response by
// its activity and number, as a Response (etag from its version column).
#ifndef DORSET_SERVICES_ENGAGEMENT_STORAGE_RESPONSE_ROWS_H_
#define DORSET_SERVICES_ENGAGEMENT_STORAGE_RESPONSE_ROWS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "dorset/engagement/v1/engagement.pb.h"
#include "runtime/storage/database.h"

namespace dorset::engagement {

// NOT_FOUND (Response) unless response `id` of `activity` exists.
absl::StatusOr<v1::Response> LoadResponse(runtime::storage::Transaction& tx,
                                          const std::string& activity, int64_t id);

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_STORAGE_RESPONSE_ROWS_H_
