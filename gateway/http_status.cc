// gRPC status -> HTTP status, google.rpc.Status JSON body and Retry-After.
#include "gateway/http_status.h"

#include "gateway/transcoder.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "runtime/status/grpc_status.h"

namespace dorset::gateway {

int HttpStatusFor(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return 200;
    case grpc::StatusCode::CANCELLED:
      return 499;
    case grpc::StatusCode::UNKNOWN:
      return 500;
    case grpc::StatusCode::INVALID_ARGUMENT:
      return 400;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return 504;
    case grpc::StatusCode::NOT_FOUND:
      return 404;
    case grpc::StatusCode::ALREADY_EXISTS:
      return 409;
    case grpc::StatusCode::PERMISSION_DENIED:
      return 403;
    case grpc::StatusCode::UNAUTHENTICATED:
      return 401;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return 429;
    case grpc::StatusCode::FAILED_PRECONDITION:
      return 400;
    case grpc::StatusCode::ABORTED:
      return 409;
    case grpc::StatusCode::OUT_OF_RANGE:
      return 400;
    case grpc::StatusCode::UNIMPLEMENTED:
      return 501;
    case grpc::StatusCode::INTERNAL:
      return 500;
    case grpc::StatusCode::UNAVAILABLE:
      return 503;
    case grpc::StatusCode::DATA_LOSS:
      return 500;
    default:
      return 500;
  }
}

HttpError ToHttpError(const grpc::Status& status) {
  HttpError error;
  error.http_status = HttpStatusFor(status.error_code());
  google::rpc::Status body = runtime::DecodeDetails(status);
  if (body.code() == 0) {
    body.set_code(static_cast<int>(status.error_code()));
    body.set_message(status.error_message());
  }
  if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
    error.retry_after_seconds = 1;
    for (const auto& any : body.details()) {
      google::rpc::RetryInfo retry;
      if (any.UnpackTo(&retry)) {
        const int64_t seconds =
            retry.retry_delay().seconds() + (retry.retry_delay().nanos() > 0 ? 1 : 0);
        error.retry_after_seconds = static_cast<int>(std::max<int64_t>(1, seconds));
      }
    }
  }
  absl::StatusOr<std::string> json = MessageToJson(body);
  if (json.ok()) {
    error.json = *std::move(json);
  } else {
    // A detail whose type is not compiled in cannot be printed: keep code and message.
    google::rpc::Status plain;
    plain.set_code(body.code());
    plain.set_message(body.message());
    error.json = MessageToJson(plain).value_or("{}");
  }
  return error;
}

}  // namespace dorset::gateway
