// Handler helpers for the callback API: admit the caller through the CallGate, run the
// service logic (which speaks absl::Status), and finish the call with the mapped gRPC status.
//
//   grpc::ServerUnaryReactor* GetPractice(grpc::CallbackServerContext* ctx,
//                                         const GetPracticeRequest* req, Practice* resp) override {
//     return Unary(gate_, ctx, [&](const Caller& caller) { return logic_.Get(*req, *resp); });
//   }
#ifndef DORSET_RUNTIME_SERVER_UNARY_H_
#define DORSET_RUNTIME_SERVER_UNARY_H_

#include <utility>

#include "absl/status/status.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"
#include "runtime/auth/caller.h"
#include "runtime/server/call_gate.h"
#include "runtime/status/grpc_status.h"

namespace dorset::runtime {

template <typename Fn>
grpc::ServerUnaryReactor* Unary(CallGate& gate, grpc::CallbackServerContext* context, Fn&& fn) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<Caller> caller = gate.Admit(*context);
  const absl::Status status = caller.ok() ? std::forward<Fn>(fn)(*caller) : caller.status();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_SERVER_UNARY_H_
