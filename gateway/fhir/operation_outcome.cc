// OperationOutcome responses (see operation_outcome.h).
#include "gateway/fhir/operation_outcome.h"

#include "gateway/fhir/fhir_json.h"
#include "gateway/http_status.h"

namespace dorset::gateway::fhir {

FhirResponse Outcome(int http_status, absl::string_view issue_code, absl::string_view diagnostics) {
  Json issue = Json::Object().Set("severity", "error").Set("code", issue_code);
  issue.SetIfNotEmpty("diagnostics", diagnostics);
  Json outcome = Json::Object()
                     .Set("resourceType", "OperationOutcome")
                     .Set("issue", Json::Array().Add(std::move(issue)));
  FhirResponse response;
  response.status = http_status;
  response.body = outcome.Serialize();
  return response;
}

FhirResponse OutcomeFor(const grpc::Status& status) {
  const HttpError error = ToHttpError(status);
  absl::string_view code = "exception";
  switch (status.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::OUT_OF_RANGE:
      code = "invalid";
      break;
    case grpc::StatusCode::FAILED_PRECONDITION:
      code = "business-rule";
      break;
    case grpc::StatusCode::NOT_FOUND:
      code = "not-found";
      break;
    case grpc::StatusCode::UNAUTHENTICATED:
      code = "login";
      break;
    case grpc::StatusCode::PERMISSION_DENIED:
      code = "forbidden";
      break;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      code = "throttled";
      break;
    case grpc::StatusCode::UNAVAILABLE:
      code = "transient";
      break;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      code = "timeout";
      break;
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::ALREADY_EXISTS:
      code = "conflict";
      break;
    case grpc::StatusCode::UNIMPLEMENTED:
      code = "not-supported";
      break;
    default:
      break;
  }
  std::string message = status.error_message();
  if (message.empty()) message = "the registry refused the call";
  FhirResponse response = Outcome(error.http_status, code, message);
  if (error.retry_after_seconds) {
    response.headers.emplace_back("Retry-After", std::to_string(*error.retry_after_seconds));
  }
  return response;
}

}  // namespace dorset::gateway::fhir
