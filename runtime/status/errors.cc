#include "runtime/status/errors.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/duration.pb.h"
#include "google/rpc/error_details.pb.h"

namespace dorset::runtime {
namespace {

constexpr char kTypePrefix[] = "type.googleapis.com/";

absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }

template <typename Message>
void Attach(absl::Status& status, const Message& detail) {
  status.SetPayload(absl::StrCat(kTypePrefix, Message::descriptor()->full_name()),
                    absl::Cord(detail.SerializeAsString()));
}

absl::Status Make(absl::StatusCode code, std::string_view message, std::string_view reason) {
  absl::Status status(code, Sv(message));
  return WithReason(std::move(status), reason);
}

}  // namespace

absl::Status WithReason(absl::Status status, std::string_view reason) {
  if (status.ok()) return status;
  google::rpc::ErrorInfo info;
  info.set_reason(std::string(reason));
  info.set_domain(std::string(kErrorDomain));
  Attach(status, info);
  return status;
}

absl::Status InvalidArguments(std::vector<FieldViolation> violations) {
  google::rpc::BadRequest bad_request;
  std::string message;
  for (const FieldViolation& v : violations) {
    auto* fv = bad_request.add_field_violations();
    fv->set_field(v.field);
    fv->set_description(v.description);
    absl::StrAppend(&message, message.empty() ? "" : "; ", v.field, ": ", v.description);
  }
  absl::Status status = Make(absl::StatusCode::kInvalidArgument, message, "INVALID_ARGUMENT");
  Attach(status, bad_request);
  return status;
}

absl::Status InvalidArgument(std::string_view field, std::string_view description) {
  return InvalidArguments({{std::string(field), std::string(description)}});
}

namespace {
absl::Status WithResource(absl::StatusCode code, std::string_view reason,
                          std::string_view resource_type, std::string_view resource_name,
                          std::string_view message) {
  absl::Status status = Make(code, message, reason);
  google::rpc::ResourceInfo info;
  info.set_resource_type(std::string(resource_type));
  info.set_resource_name(std::string(resource_name));
  Attach(status, info);
  return status;
}
}  // namespace

absl::Status NotFound(std::string_view resource_type, std::string_view resource_name) {
  return WithResource(absl::StatusCode::kNotFound, "NOT_FOUND", resource_type, resource_name,
                      absl::StrCat(Sv(resource_type), " ", Sv(resource_name), " not found"));
}

absl::Status AlreadyExists(std::string_view resource_type, std::string_view resource_name,
                           std::string_view description) {
  return WithResource(
      absl::StatusCode::kAlreadyExists, "ALREADY_EXISTS", resource_type, resource_name,
      description.empty()
          ? absl::StrCat(Sv(resource_type), " ", Sv(resource_name), " already exists")
          : std::string(description));
}

absl::Status EtagMismatch(std::string_view resource_type, std::string_view resource_name) {
  return WithResource(
      absl::StatusCode::kAborted, "ETAG_MISMATCH", resource_type, resource_name,
      absl::StrCat(Sv(resource_name), " was changed by someone else: read it again and retry"));
}

absl::Status FailedPrecondition(std::string_view type, std::string_view subject,
                                std::string_view description) {
  absl::Status status =
      Make(absl::StatusCode::kFailedPrecondition, description, "FAILED_PRECONDITION");
  google::rpc::PreconditionFailure failure;
  auto* v = failure.add_violations();
  v->set_type(std::string(type));
  v->set_subject(std::string(subject));
  v->set_description(std::string(description));
  Attach(status, failure);
  return status;
}

absl::Status ResourceExhausted(std::string_view description, absl::Duration retry_after) {
  absl::Status status = Make(absl::StatusCode::kResourceExhausted, description, "RATE_LIMITED");
  google::rpc::RetryInfo retry;
  const int64_t nanos = absl::ToInt64Nanoseconds(retry_after);
  retry.mutable_retry_delay()->set_seconds(nanos / 1000000000);
  retry.mutable_retry_delay()->set_nanos(static_cast<int32_t>(nanos % 1000000000));
  Attach(status, retry);
  return status;
}

absl::Status Unauthenticated(std::string_view description) {
  return Make(absl::StatusCode::kUnauthenticated, description, "UNAUTHENTICATED");
}

absl::Status PermissionDenied(std::string_view permission) {
  absl::Status status =
      Make(absl::StatusCode::kPermissionDenied,
           absl::StrCat("the caller lacks permission ", Sv(permission)), "PERMISSION_DENIED");
  google::rpc::ErrorInfo info;
  info.set_reason("PERMISSION_DENIED");
  info.set_domain(std::string(kErrorDomain));
  (*info.mutable_metadata())["permission"] = std::string(permission);
  Attach(status, info);
  return status;
}

absl::Status Internal(std::string_view description) {
  return Make(absl::StatusCode::kInternal, description, "INTERNAL");
}

absl::Status Annotate(const absl::Status& status, std::string_view context) {
  if (status.ok()) return status;
  absl::Status out(status.code(), absl::StrCat(Sv(context), ": ", status.message()));
  status.ForEachPayload(
      [&out](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
  return out;
}

}  // namespace dorset::runtime
