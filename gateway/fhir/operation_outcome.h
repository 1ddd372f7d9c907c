// FHIR errors: an OperationOutcome with one issue, and the HTTP status and issue code a gRPC
// status maps to (INVALID_ARGUMENT 400 invalid, NOT_FOUND 404 not-found, UNAUTHENTICATED 401
// login, PERMISSION_DENIED 403 forbidden, RESOURCE_EXHAUSTED 429 throttled with Retry-After,
// UNAVAILABLE 503 transient, DEADLINE_EXCEEDED 504 timeout, others 500 exception).
#ifndef DORSET_GATEWAY_FHIR_OPERATION_OUTCOME_H_
#define DORSET_GATEWAY_FHIR_OPERATION_OUTCOME_H_

#include <string>

#include "absl/strings/string_view.h"
#include "gateway/fhir/fhir_service.h"
#include "grpcpp/support/status.h"

namespace dorset::gateway::fhir {

// An OperationOutcome response with one error issue.
FhirResponse Outcome(int http_status, absl::string_view issue_code, absl::string_view diagnostics);
// The OperationOutcome of a failed registry call.
FhirResponse OutcomeFor(const grpc::Status& status);

}  // namespace dorset::gateway::fhir

#endif  // DORSET_GATEWAY_FHIR_OPERATION_OUTCOME_H_
