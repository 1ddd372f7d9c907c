// gRPC status -> HTTP: the status code per google/rpc/code.proto's mapping, the JSON
// google.rpc.Status body (details kept, e.g. BadRequest, ErrorInfo, PreconditionFailure) and
// Retry-After for RESOURCE_EXHAUSTED (from RetryInfo, else one second).
#ifndef DORSET_GATEWAY_HTTP_STATUS_H_
#define DORSET_GATEWAY_HTTP_STATUS_H_

#include <optional>
#include <string>

#include "grpcpp/support/status.h"

namespace dorset::gateway {

// The HTTP status google/rpc/code.proto gives each gRPC code (OK 200, INVALID_ARGUMENT 400,
// ABORTED 409, RESOURCE_EXHAUSTED 429, CANCELLED 499, ...).
int HttpStatusFor(grpc::StatusCode code);

struct HttpError {
  int http_status = 500;
  std::string json;  // google.rpc.Status as canonical JSON
  std::optional<int> retry_after_seconds;
};

// The HTTP form of a non-OK gRPC status.
HttpError ToHttpError(const grpc::Status& status);

}  // namespace dorset::gateway

#endif  // DORSET_GATEWAY_HTTP_STATUS_H_
