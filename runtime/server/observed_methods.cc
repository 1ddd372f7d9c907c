#include "runtime/server/observed_methods.h"

#include <memory>
#include <utility>
#include <vector>

#include "grpc/byte_buffer.h"
#include "grpcpp/impl/codegen/server_callback_handlers.h"
#include "grpcpp/impl/rpc_service_method.h"
#include "grpcpp/support/message_allocator.h"
#include "runtime/logging/log.h"
#include "runtime/server/call_observer.h"
#include "runtime/server/stream_call.h"
#include "runtime/server/unary_call.h"
#include "runtime/status/errors.h"
#include "runtime/status/grpc_status.h"

namespace dorset::runtime {
namespace {

// gRPC keeps a service's methods and a method's handler private. Its protected route
// (Service::GetHandler and MarkMethodCallback, usable only from the service's own class) cannot
// wrap a handler: marking a method deletes the handler it had, and the generated handler is the
// only thing that calls the service's typed method. Explicit instantiation may name private
// members ([temp.spec]): Get(Tag{}) returns the member pointer.
template <typename Tag, typename Tag::type Member>
struct Robber {
  friend typename Tag::type Get(Tag) { return Member; }
};
struct ServiceMethods {
  using type = std::vector<std::unique_ptr<grpc::internal::RpcServiceMethod>> grpc::Service::*;
  friend type Get(ServiceMethods);
};
template struct Robber<ServiceMethods, &grpc::Service::methods_>;
struct MethodHandlerSlot {
  using type = std::unique_ptr<grpc::internal::MethodHandler> grpc::internal::RpcServiceMethod::*;
  friend type Get(MethodHandlerSlot);
};
template struct Robber<MethodHandlerSlot, &grpc::internal::RpcServiceMethod::handler_>;

}  // namespace

// Runs an observed method's handler with its call observed (see ObserveMethods); a request that
// does not parse goes to `malformed_` (a raw unary handler over an empty request) instead of
// gRPC's UNIMPLEMENTED reactor. A server-streaming method's refusal is a status without
// messages, which a unary reactor sends as well.
class ObservedHandler final : public grpc::internal::MethodHandler {
 public:
  ObservedHandler(ObservedMethod& method, CallGate& gate, grpc::internal::RpcMethod::RpcType type,
                  std::unique_ptr<grpc::internal::MethodHandler> inner)
      : method_(method),
        gate_(gate),
        unary_(type == grpc::internal::RpcMethod::NORMAL_RPC),
        single_request_(unary_ || type == grpc::internal::RpcMethod::SERVER_STREAMING),
        inner_(std::move(inner)),
        malformed_([this](grpc::CallbackServerContext* context, const grpc::ByteBuffer*,
                          grpc::ByteBuffer*) -> grpc::ServerUnaryReactor* {
          // The caller is authenticated and authorised first, and one who may call the method
          // learns that the message was bad.
          UnaryCall* call = new UnaryCall(context, method_);
          absl::StatusOr<Caller> caller = call->Admit(gate_);
          call->Complete(ToGrpcStatus(
              caller.ok() ? InvalidArgument("request",
                                            "the request message does not parse as this "
                                            "method's protobuf message")
                          : caller.status()));
          return call;
        }) {}

  void RunHandler(const HandlerParameter& param) override {
    if (!param.status.ok()) {  // Deserialize handed the call to `malformed_`
      malformed_.RunHandler(HandlerParameter(param.call, param.server_context, param.request,
                                             grpc::Status::OK, param.internal_data,
                                             param.call_requester));
      return;
    }
    if (unary_) {
      UnaryCall::SetCurrentMethod(&method_);
      inner_->RunHandler(param);
      UnaryCall::SetCurrentMethod(nullptr);
      return;
    }
    // A server stream's request is its generated message (protobuf messages derive from
    // Message alone, so the pointer is the Message's); a client stream's arrive later.
    const auto* request = single_request_ && method_.raw_request_type == nullptr
                              ? static_cast<const google::protobuf::Message*>(param.request)
                              : nullptr;
    StreamCall::Begin(static_cast<grpc::CallbackServerContext*>(param.server_context), method_,
                      request);
    inner_->RunHandler(param);
    if (std::unique_ptr<StreamCall> left = StreamCall::Adopt(); left != nullptr) {
      // The reactor is not one of the runtime's (stream_call.h): the call's end cannot be seen.
      log::Error("stream reactor does not observe its call", {{"method", method_.path}});
    }
  }

  void* Deserialize(grpc_call* call, grpc_byte_buffer* request, grpc::Status* status,
                    void** handler_data) override {
    void* parsed = inner_->Deserialize(call, request, status, handler_data);
    if (status->ok() || !single_request_) return parsed;
    // The typed unary handler keeps its message holder in `handler_data` even when parsing
    // failed: a DefaultMessageHolder in the call's arena (no MessageAllocator is set on these
    // methods), whose Release() is its own destruction. Destroy it as that (RpcAllocatorState,
    // its only base, has the virtual destructor); the server-streaming handler keeps none. Then
    // let the raw handler take the call over an empty request. `status` stays failed: RunHandler
    // routes on it.
    if (*handler_data != nullptr) {
      static_cast<grpc::RpcAllocatorState*>(*handler_data)->~RpcAllocatorState();
      *handler_data = nullptr;
    }
    grpc::Status empty_status;
    return malformed_.Deserialize(call, grpc_raw_byte_buffer_create(nullptr, 0), &empty_status,
                                  handler_data);
  }

 private:
  ObservedMethod& method_;
  CallGate& gate_;
  const bool unary_;
  const bool single_request_;  // unary or server streaming: the request arrives with the call
  const std::unique_ptr<grpc::internal::MethodHandler> inner_;
  grpc::internal::CallbackUnaryHandler<grpc::ByteBuffer, grpc::ByteBuffer> malformed_;
};

void ObserveMethods(grpc::Service& service, CallObserver& observer, CallGate& gate) {
  using Method = grpc::internal::RpcServiceMethod;
  for (const std::unique_ptr<Method>& method : service.*Get(ServiceMethods{})) {
    if (method == nullptr ||
        (method->api_type() != Method::ApiType::CALL_BACK &&
         method->api_type() != Method::ApiType::RAW_CALL_BACK) ||
        !RequiredPermission(method->name()).has_value()) {
      continue;  // not served here, or refused by the gate (the method table has every method)
    }
    std::unique_ptr<grpc::internal::MethodHandler>& handler = (*method).*Get(MethodHandlerSlot{});
    if (handler == nullptr) continue;
    ObservedMethod& observed = observer.Observe(method->name());
    handler = std::make_unique<ObservedHandler>(observed, gate, method->method_type(),
                                                std::move(handler));
  }
}

}  // namespace dorset::runtime
