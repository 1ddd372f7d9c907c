// The edge between absl::Status (inside) and grpc::Status (on the wire). Payloads attached by
// errors.h become google.rpc.Status details; every non-OK status gets an ErrorInfo.
#ifndef DORSET_RUNTIME_STATUS_GRPC_STATUS_H_
#define DORSET_RUNTIME_STATUS_GRPC_STATUS_H_

#include "absl/status/status.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/support/status.h"

namespace dorset::runtime {

// Converts an internal status into the gRPC status sent to the caller.
grpc::Status ToGrpcStatus(const absl::Status& status);

// Converts a status received from another service back into absl, keeping details.
absl::Status FromGrpcStatus(const grpc::Status& status);

// Decodes the google.rpc.Status carried in a grpc::Status (empty when there is none).
google::rpc::Status DecodeDetails(const grpc::Status& status);

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_STATUS_GRPC_STATUS_H_
