// Constructors for the project's canonical errors. Each one returns an absl::Status that
// carries a google.rpc detail (BadRequest, ResourceInfo, PreconditionFailure, RetryInfo,
// ErrorInfo) as a payload; ToGrpcStatus (grpc_status.h) turns the payloads into the
// `grpc-status-details-bin` trailer at the edge. Inside the services everything is absl.
//
//   return InvalidArgument("practice.postcode", "not a UK postcode");
//   return NotFound("Practice", "practices/J81016");
//
// Messages must never contain personal data: they are logged.
#ifndef DORSET_RUNTIME_STATUS_ERRORS_H_
#define DORSET_RUNTIME_STATUS_ERRORS_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace dorset::runtime {

// The ErrorInfo domain every error of ours carries.
inline constexpr std::string_view kErrorDomain = "dorset.nhs.uk";

struct FieldViolation {
  std::string field;
  std::string description;
};

// INVALID_ARGUMENT naming one field (AIP path, e.g. "practice.postcode").
absl::Status InvalidArgument(std::string_view field, std::string_view description);
// INVALID_ARGUMENT naming several fields at once.
absl::Status InvalidArguments(std::vector<FieldViolation> violations);
// NOT_FOUND for a resource name.
absl::Status NotFound(std::string_view resource_type, std::string_view resource_name);
// ALREADY_EXISTS for a resource name.
absl::Status AlreadyExists(std::string_view resource_type, std::string_view resource_name,
                           std::string_view description = "");
// ABORTED because the caller's etag is stale.
absl::Status EtagMismatch(std::string_view resource_type, std::string_view resource_name);
// FAILED_PRECONDITION with a typed violation (type e.g. "STATE", "SUCCESSOR").
absl::Status FailedPrecondition(std::string_view type, std::string_view subject,
                                std::string_view description);
// RESOURCE_EXHAUSTED with RetryInfo.
absl::Status ResourceExhausted(std::string_view description, absl::Duration retry_after);
// UNAUTHENTICATED / PERMISSION_DENIED with an ErrorInfo reason.
absl::Status Unauthenticated(std::string_view description);
absl::Status PermissionDenied(std::string_view permission);
// INTERNAL for failures the caller cannot fix (the message is kept generic; log details).
absl::Status Internal(std::string_view description);

// Sets the ErrorInfo reason (UPPER_SNAKE_CASE) on a status, keeping its other payloads.
absl::Status WithReason(absl::Status status, std::string_view reason);

// Adds context to a status' message, keeping code and payloads.
absl::Status Annotate(const absl::Status& status, std::string_view context);

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_STATUS_ERRORS_H_
