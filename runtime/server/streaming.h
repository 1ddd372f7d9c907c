// Helpers for server-streaming handlers on the callback API.
#ifndef DORSET_RUNTIME_SERVER_STREAMING_H_
#define DORSET_RUNTIME_SERVER_STREAMING_H_

#include <memory>

#include "absl/status/status.h"
#include "grpcpp/support/server_callback.h"
#include "runtime/server/stream_call.h"
#include "runtime/status/grpc_status.h"

namespace dorset::runtime {

// A write reactor that ends the call at once with `status`; used when a stream is refused
// (bad request, no permission) before any message is written. It owns itself, as gRPC's
// reactor examples do, and is freed in OnDone. The call is observed (stream_call.h): a refusal
// is counted, logged and (when denied) audited as any call.
template <typename Response>
class RefusedStream final : public grpc::ServerWriteReactor<Response> {
 public:
  static grpc::ServerWriteReactor<Response>* Create(const absl::Status& status) {
    return new RefusedStream(status);
  }
  void OnDone() override {
    call_.reset();  // the call's metrics and access-log line
    delete this;
  }

 private:
  // gRPC holds a Finish made before the handler returns the reactor until it is bound.
  explicit RefusedStream(const absl::Status& status) : call_(StreamCall::Adopt()) {
    FinishObserved(call_.get(), this, ToGrpcStatus(status));
  }

  std::unique_ptr<StreamCall> call_;  // null when not observed
};

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_SERVER_STREAMING_H_
