// The request ids of engagement's creates on the lane's one idempotency record
// (runtime/storage/idempotency.h): the reply stored is the created resource's name.
#ifndef DORSET_SERVICES_ENGAGEMENT_STORAGE_REQUESTS_H_
#define DORSET_SERVICES_ENGAGEMENT_STORAGE_REQUESTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "google/protobuf/message.h"
#include "runtime/storage/database.h"

namespace dorset::engagement {

// The name of the resource a previous call with `request_id` created, if any; ALREADY_EXISTS
// (REQUEST_ID_REUSED) when that call was another method's, another principal's or another
// request: the lane's one idempotency record (runtime/storage/idempotency.h), whose reply is the
// created resource's name.
absl::StatusOr<std::optional<std::string>> FindRequest(runtime::storage::Transaction& tx,
                                                       std::string_view method,
                                                       std::string_view principal,
                                                       std::string_view request_id,
                                                       const google::protobuf::Message& request);
absl::Status RecordRequest(runtime::storage::Transaction& tx, std::string_view method,
                           std::string_view principal, std::string_view request_id,
                           const google::protobuf::Message& request, std::string_view resource,
                           int64_t now);

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_STORAGE_REQUESTS_H_
