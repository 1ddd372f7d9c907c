// Helpers for server-streaming handlers on the callback API.
#ifndef DORSET_RUNTIME_SERVER_STREAMING_H_
#define DORSET_RUNTIME_SERVER_STREAMING_H_

#include "absl/status/status.h"
#include "grpcpp/support/server_callback.h"
#include "runtime/status/grpc_status.h"

namespace dorset::runtime {

// A write reactor that ends the call at once with `status`; used when a stream is refused
// (bad request, no permission) before any message is written. It owns itself, as gRPC's
// reactor examples do, and is freed in OnDone.
template <typename Response>
class RefusedStream final : public grpc::ServerWriteReactor<Response> {
 public:
  static grpc::ServerWriteReactor<Response>* Create(const absl::Status& status) {
    return new RefusedStream(status);
  }
  void OnDone() override { delete this; }

 private:
  explicit RefusedStream(const absl::Status& status) { this->Finish(ToGrpcStatus(status)); }
};

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_SERVER_STREAMING_H_
