#include "runtime/server/unary_call.h"

#include <functional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "grpc/byte_buffer.h"
#include "grpcpp/impl/codegen/server_callback_handlers.h"
#include "grpcpp/impl/rpc_service_method.h"
#include "grpcpp/impl/service_type.h"
#include "grpcpp/support/message_allocator.h"
#include "prometheus/counter.h"
#include "prometheus/histogram.h"
#include "runtime/audit/audit_log.h"
#include "runtime/logging/log.h"
#include "runtime/server/cached_unary.h"
#include "runtime/server/call_gate.h"
#include "runtime/server/call_registry.h"
#include "runtime/server/observability_interceptor.h"
#include "runtime/status/errors.h"
#include "runtime/status/grpc_status.h"

namespace dorset::runtime {
namespace {

// The observed method whose handler this thread is running (set around the handler by
// ObservedUnaryHandler; the wrappers call UnaryCall::Begin synchronously inside it).
thread_local ObservedMethod* current_method = nullptr;

std::string CodeName(grpc::StatusCode code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

bool AcceptableRequestId(grpc::string_ref id) {
  if (id.empty() || id.size() > kMaxRequestIdLength) return false;
  for (char c : id) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

// gRPC keeps a service's methods and a method's handler private; the host must wrap the handlers
// of the services it registers. Explicit instantiation may name private members ([temp.spec]):
// Get(Tag{}) returns the member pointer.
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

// Runs an observed method's handler with the method known to UnaryCall::Begin; a request that
// does not parse goes to `malformed_` (a raw handler over an empty request) instead of gRPC's
// UNIMPLEMENTED reactor.
class ObservedUnaryHandler final : public grpc::internal::MethodHandler {
 public:
  ObservedUnaryHandler(ObservedMethod& method, CallGate& gate,
                       std::unique_ptr<grpc::internal::MethodHandler> inner)
      : method_(method),
        gate_(gate),
        inner_(std::move(inner)),
        malformed_([this](grpc::CallbackServerContext* context, const grpc::ByteBuffer*,
                          grpc::ByteBuffer*) -> grpc::ServerUnaryReactor* {
          // As the interceptor answers: the caller is authenticated and authorised first, and
          // one who may call the method learns that the message was bad.
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
    current_method = &method_;
    inner_->RunHandler(param);
    current_method = nullptr;
  }

  void* Deserialize(grpc_call* call, grpc_byte_buffer* request, grpc::Status* status,
                    void** handler_data) override {
    void* parsed = inner_->Deserialize(call, request, status, handler_data);
    if (status->ok()) return parsed;
    // The typed handler keeps its message holder in `handler_data` even when parsing failed:
    // a DefaultMessageHolder in the call's arena (no MessageAllocator is set on these methods),
    // whose Release() is its own destruction. Destroy it as that (RpcAllocatorState, its only
    // base, has the virtual destructor), then let the raw handler take the call over an empty
    // request. `status` stays failed: RunHandler routes on it.
    if (*handler_data != nullptr) {
      static_cast<grpc::RpcAllocatorState*>(*handler_data)->~RpcAllocatorState();
    }
    grpc::Status empty_status;
    return malformed_.Deserialize(call, grpc_raw_byte_buffer_create(nullptr, 0), &empty_status,
                                  handler_data);
  }

 private:
  ObservedMethod& method_;
  CallGate& gate_;
  const std::unique_ptr<grpc::internal::MethodHandler> inner_;
  grpc::internal::CallbackUnaryHandler<grpc::ByteBuffer, grpc::ByteBuffer> malformed_;
};

UnaryCall::UnaryCall(grpc::CallbackServerContext* context, ObservedMethod& method)
    : context_(context), method_(method), start_(absl::Now()) {
  const auto& metadata = context->client_metadata();
  if (auto it = metadata.find("x-request-id");
      it != metadata.end() && AcceptableRequestId(it->second)) {
    request_id_.assign(it->second.data(), it->second.size());
  } else {
    request_id_ = NewRequestId();
  }
  method_.Metrics().Started().Increment();
}

UnaryCall* UnaryCall::BeginObserved(grpc::CallbackServerContext* context) {
  ObservedMethod* method = current_method;
  if (method == nullptr) return nullptr;
  current_method = nullptr;  // one call per handler
  return new UnaryCall(context, *method);
}

UnaryCall* UnaryCall::Begin(grpc::CallbackServerContext* context,
                            const google::protobuf::Message* request,
                            const google::protobuf::Message* reply) {
  UnaryCall* call = BeginObserved(context);
  if (call != nullptr) {
    call->request_ = request;
    call->reply_ = reply;
  }
  return call;
}

UnaryCall* UnaryCall::BeginRaw(grpc::CallbackServerContext* context,
                               const grpc::ByteBuffer* request) {
  UnaryCall* call = BeginObserved(context);
  if (call != nullptr) call->raw_request_ = request;
  return call;
}

absl::StatusOr<Caller> UnaryCall::Admit(CallGate& gate) {
  absl::StatusOr<Caller> caller = gate.Admit(*context_, method_.path, &principal_);
  if (!caller.ok()) return caller;
  caller->request_id = request_id_;
  personal_data_read_ = caller->personal_data_read;
  return caller;
}

void UnaryCall::Complete(grpc::Status status) {
  code_ = status.error_code();
  completed_ = true;
  // The map owns its strings (it lives in the ServerContext until the metadata is sent).
  context_->AddInitialMetadata("x-request-id", request_id_);
  if (!NeedsAuditEvent()) {
    Finish(status);
    return;
  }
  // An audited call is acknowledged only once its event is on disk: the reply waits here
  // (without holding a thread) and goes out when the audit writer has committed it.
  audited_ = true;
  WriteAuditEvent([this, status = std::move(status)](const absl::Status& written) {
    if (written.ok()) {
      Finish(status);
      return;
    }
    // The trail could not take the event: the caller must not see success (nor personal
    // data: a failed call sends no reply). The change may already be applied; every write is
    // idempotent by request_id, so a retry after the disk recovers answers the same.
    const auto code = written.code() == absl::StatusCode::kResourceExhausted
                          ? grpc::StatusCode::RESOURCE_EXHAUSTED
                          : grpc::StatusCode::UNAVAILABLE;
    Finish(grpc::Status(code, "the audit trail could not record this call (" +
                                  std::string(written.message()) +
                                  "); its effect may be applied: retry with the same request_id"));
  });
}

bool UnaryCall::NeedsAuditEvent() const {
  if (method_.factory.audit() == nullptr) return false;
  return code_ == grpc::StatusCode::UNAUTHENTICATED ||
         code_ == grpc::StatusCode::PERMISSION_DENIED || IsWritePermission(*method_.permission) ||
         (personal_data_read_ != nullptr && personal_data_read_->load());
}

std::string UnaryCall::Resource() const {
  if (method_.raw_request_type != nullptr) {
    if (raw_request_ == nullptr || !raw_request_->Valid()) return "";
    std::unique_ptr<google::protobuf::Message> request(method_.raw_request_type->New());
    return ParseRawRequest(*raw_request_, request.get()).ok() ? ResourceOf(*request) : "";
  }
  if (!method_.dorset) return "";
  std::string resource = request_ != nullptr ? ResourceOf(*request_) : "";
  // A create names its resource only in the response (sent only with an OK status).
  if (resource.empty() && reply_ != nullptr && code_ == grpc::StatusCode::OK) {
    resource = ResourceOf(*reply_);
  }
  return resource;
}

void UnaryCall::WriteAuditEvent(std::function<void(const absl::Status&)> written) {
  const bool denied =
      code_ == grpc::StatusCode::UNAUTHENTICATED || code_ == grpc::StatusCode::PERMISSION_DENIED;
  common::v1::AuditEvent event;
  event.set_principal(principal_);
  event.set_method(method_.path);
  event.set_resource(Resource());
  event.set_action(denied                                   ? "DENIED"
                   : IsWritePermission(*method_.permission) ? "WRITE"
                                                            : "PERSONAL_DATA_READ");
  event.set_request_id(request_id_);
  event.set_outcome(completed_ ? CodeName(code_) : "CANCELLED");
  method_.factory.audit()->Record(std::move(event), std::move(written));
}

void UnaryCall::OnDone() {
  // Every observed call is completed (gRPC calls OnDone only after Finish), and audited then.
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start_);
  MethodMetrics& metrics = method_.Metrics();
  metrics.Handled(code_).Increment();
  metrics.Latency().Observe(seconds);
  // Probes call health every few seconds; keep them out of the info stream. The fields are
  // built only when the line is written (most of the cost of a call at --log_level=warn).
  if (log::Enabled(method_.probe ? log::Level::kDebug : log::Level::kInfo)) {
    const log::Fields fields = {{"method", method_.path},          {"status", CodeName(code_)},
                                {"duration_ms", seconds * 1000.0}, {"peer", context_->peer()},
                                {"principal", principal_},         {"request_id", request_id_}};
    if (method_.probe) {
      log::Debug("rpc", fields);
    } else {
      log::Info("rpc", fields);
    }
  }
  delete this;
}

absl::StatusOr<Caller> UnaryHandle::Admit(CallGate& gate) const {
  return call_ != nullptr ? call_->Admit(gate) : gate.Admit(*context_);
}

grpc::ServerUnaryReactor* UnaryHandle::Finish(grpc::Status status) const {
  if (call_ != nullptr) {
    call_->Complete(std::move(status));  // returned to gRPC, so not freed before it is bound
    return call_;
  }
  reactor_->Finish(std::move(status));
  return reactor_;
}

void ObserveUnaryMethods(grpc::Service& service, ObservabilityInterceptorFactory& factory,
                         CallGate& gate) {
  using Method = grpc::internal::RpcServiceMethod;
  for (const std::unique_ptr<Method>& method : service.*Get(ServiceMethods{})) {
    if (method == nullptr || method->method_type() != grpc::internal::RpcMethod::NORMAL_RPC ||
        (method->api_type() != Method::ApiType::CALL_BACK &&
         method->api_type() != Method::ApiType::RAW_CALL_BACK) ||
        !RequiredPermission(method->name()).has_value()) {
      continue;  // the interceptor keeps observing it
    }
    std::unique_ptr<grpc::internal::MethodHandler>& handler = (*method).*Get(MethodHandlerSlot{});
    if (handler == nullptr) continue;
    ObservedMethod& observed = factory.Observe(method->name());
    handler = std::make_unique<ObservedUnaryHandler>(observed, gate, std::move(handler));
  }
}

}  // namespace dorset::runtime
