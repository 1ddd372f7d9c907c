// The synthetic generator's bulk load (Engagement::BulkLoadResponses): responses written
// straight into the response table with their counter cells summed per call, no window check.
#ifndef DORSET_SERVICES_ENGAGEMENT_STORAGE_BULK_LOAD_H_
#define DORSET_SERVICES_ENGAGEMENT_STORAGE_BULK_LOAD_H_

#include <cstdint>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "dorset/engagement/v1/engagement.pb.h"
#include "runtime/storage/database.h"

namespace dorset::engagement {

// NOT_FOUND (Activity) unless the activity exists; otherwise writes every response (themes as
// given, created at `now`) and adds their cells to the counters, inside `tx`.
absl::Status WriteBulkResponses(runtime::storage::Transaction& tx, const std::string& activity,
                                std::span<const v1::Response> responses, int64_t now);

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_STORAGE_BULK_LOAD_H_
