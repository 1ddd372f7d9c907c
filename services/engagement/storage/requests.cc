#include "services/engagement/storage/requests.h"

#include "runtime/api/request_id.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/idempotency.h"

namespace dorset::engagement {

namespace {
runtime::storage::RequestKey KeyOf(std::string_view method, std::string_view principal,
                                   std::string_view request_id,
                                   const google::protobuf::Message& request) {
  return {std::string(request_id), std::string(method), std::string(principal),
          runtime::RequestHash(request)};
}
}  // namespace

absl::StatusOr<std::optional<std::string>> FindRequest(runtime::storage::Transaction& tx,
                                                       std::string_view method,
                                                       std::string_view principal,
                                                       std::string_view request_id,
                                                       const google::protobuf::Message& request) {
  if (request_id.empty()) return std::optional<std::string>();
  ASSIGN_OR_RETURN(runtime::storage::IdempotencyRecord record,
                   runtime::storage::IdempotencyRecord::Prepare(tx));
  return record.Find(KeyOf(method, principal, request_id, request));
}

absl::Status RecordRequest(runtime::storage::Transaction& tx, std::string_view method,
                           std::string_view principal, std::string_view request_id,
                           const google::protobuf::Message& request, std::string_view resource,
                           int64_t now) {
  if (request_id.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(runtime::storage::IdempotencyRecord record,
                   runtime::storage::IdempotencyRecord::Prepare(tx));
  return record.Store(KeyOf(method, principal, request_id, request), resource, now);
}

}  // namespace dorset::engagement
