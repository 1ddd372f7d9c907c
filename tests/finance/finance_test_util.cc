#include "tests/finance/finance_test_util.h"

#include "google/rpc/error_details.pb.h"
#include "runtime/status/grpc_status.h"

namespace dorset::finance::testing {

v1::Posting MakePosting(const std::string& scheme, const std::string& year, int month,
                        v1::PostingKind kind, int64_t pence, const std::string& reason) {
  v1::Posting p;
  p.set_scheme(scheme);
  p.set_financial_year(year);
  p.set_month(month);
  p.set_kind(kind);
  p.mutable_amount()->set_pence(pence);
  p.set_reason(reason);
  return p;
}

v1::Posting Reversal(const std::string& original, const std::string& reason) {
  v1::Posting p;
  p.set_reverses(original);
  p.set_reason(reason);
  return p;
}

std::string ViolationField(const grpc::Status& status) {
  const google::rpc::Status details = runtime::DecodeDetails(status);
  for (const auto& any : details.details()) {
    google::rpc::BadRequest bad;
    if (any.UnpackTo(&bad) && bad.field_violations_size() > 0) {
      return bad.field_violations(0).field();
    }
  }
  return "";
}

std::string PreconditionSubject(const grpc::Status& status) {
  const google::rpc::Status details = runtime::DecodeDetails(status);
  for (const auto& any : details.details()) {
    google::rpc::PreconditionFailure failure;
    if (any.UnpackTo(&failure) && failure.violations_size() > 0) {
      return failure.violations(0).type() + " " + failure.violations(0).subject();
    }
  }
  return "";
}

std::string ErrorReason(const grpc::Status& status) {
  const google::rpc::Status details = runtime::DecodeDetails(status);
  for (const auto& any : details.details()) {
    google::rpc::ErrorInfo info;
    if (any.UnpackTo(&info)) return info.reason();
  }
  return "";
}

}  // namespace dorset::finance::testing
