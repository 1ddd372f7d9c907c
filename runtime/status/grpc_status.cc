#include "runtime/status/grpc_status.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "runtime/status/errors.h"

namespace dorset::runtime {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  absl::Status with_info = status;
  const std::string info_url =
      absl::StrCat("type.googleapis.com/", google::rpc::ErrorInfo::descriptor()->full_name());
  if (!with_info.GetPayload(info_url).has_value()) {
    with_info = WithReason(with_info, absl::StatusCodeToString(status.code()));
  }
  google::rpc::Status rpc_status;
  rpc_status.set_code(static_cast<int>(status.code()));
  rpc_status.set_message(std::string(status.message()));
  with_info.ForEachPayload([&rpc_status](absl::string_view url, const absl::Cord& payload) {
    auto* any = rpc_status.add_details();
    any->set_type_url(std::string(url));
    any->set_value(std::string(payload));
  });
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()),
                      rpc_status.SerializeAsString());
}

google::rpc::Status DecodeDetails(const grpc::Status& status) {
  google::rpc::Status rpc_status;
  if (!status.error_details().empty()) rpc_status.ParseFromString(status.error_details());
  return rpc_status;
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  absl::Status out(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  const google::rpc::Status details = DecodeDetails(status);
  for (const auto& any : details.details()) {
    out.SetPayload(any.type_url(), absl::Cord(any.value()));
  }
  return out;
}

}  // namespace dorset::runtime
