// A unary call of the method table observed by the runtime's handler wrapper: request id
// (x-request-id in, echoed out, made up when absent), one access-log line, the method's metrics
// and the audit record (call_observer.h; streams: stream_call.h). gRPC's interception machinery
// (a ServerRpcInfo, hook batches and their lock round trips) was the larger part of what a call
// cost above the bare callback API, so the host registers no interceptor: it wraps its services'
// handlers (ObserveMethods, observed_methods.h) and the wrappers (unary.h, cached_unary.h) do the
// work here.
//
//   UnaryCall* call = UnaryCall::Begin(context, request, reply);  // null: not observed here
//   absl::StatusOr<Caller> caller = call->Admit(gate);
//   ...
//   call->Complete(ToGrpcStatus(status));  // from any thread, once
//   return call;
#ifndef DORSET_RUNTIME_SERVER_UNARY_CALL_H_
#define DORSET_RUNTIME_SERVER_UNARY_CALL_H_

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "dorset/common/v1/audit.pb.h"
#include "google/protobuf/message.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/server_callback.h"
#include "runtime/audit/audit_outbox.h"
#include "runtime/auth/caller.h"

namespace dorset::runtime {

class CallGate;
struct ObservedMethod;

class UnaryCall final : public grpc::ServerUnaryReactor {
 public:
  // The call the handler running on this thread serves, when its method is observed by the
  // wrapper (ObserveMethods); null otherwise (a handler run outside the host: the context's
  // DefaultReactor and CallGate::Admit(context) serve it). `request` and `reply` live until it is
  // done; the request (or, for a create, the reply) names the audited resource.
  static UnaryCall* Begin(grpc::CallbackServerContext* context,
                          const google::protobuf::Message* request,
                          const google::protobuf::Message* reply);
  // The same for a raw method (cached_unary.h): the request is parsed only for an audit event.
  static UnaryCall* BeginRaw(grpc::CallbackServerContext* context, const grpc::ByteBuffer* request);

  // The gate's decision for this call (CallGate::Admit), with the request id and the call's
  // personal-data flag in the caller.
  absl::StatusOr<Caller> Admit(CallGate& gate);

  // Ends the call with `status`. An audited call is answered only once its event is on disk (the
  // reply waits without holding a thread); if the trail cannot take it the caller is refused
  // (UNAVAILABLE / RESOURCE_EXHAUSTED). Once per call, from any thread; `this` may be gone after.
  void Complete(grpc::Status status);

  void OnDone() override;
  // OnDone only counts, logs and deletes: it may run inline on the thread that completed the
  // call. Otherwise gRPC schedules every call's OnDone on an executor thread (one more thread
  // wake-up per call; the DefaultReactor the bare API uses is inlineable): measured 0.70x of the
  // bare echo at 64 in flight against 1.02x before the wrapper (bench/README.md).
  bool InternalInlineable() override { return true; }

  // For a write a group committer applies (runtime/audit/audit_outbox.h): the event this call
  // records if completed with `status`, as an outbox row viewing this call's strings (valid until
  // the call is completed), its resource named by `reply` (as it will be sent; null: the call's
  // own) when the request names none; false when it records none. Any thread, before Complete.
  bool AuditRowFor(const absl::Status& status, const google::protobuf::Message* reply,
                   OutboxRow& row) const;
  // The event AuditRowFor gave for `code` is committed with the change: Complete with a status
  // of that code answers at once. Only after that transaction committed, before Complete (the
  // completion that follows is ordered after it by the committer's hand-off).
  void MarkAuditCommitted(absl::StatusCode code) { outboxed_code_ = static_cast<int>(code); }

 private:
  friend class ObservedHandler;
  UnaryCall(grpc::CallbackServerContext* context, ObservedMethod& method);
  // The observed method whose handler runs on this thread (set around it by ObservedHandler).
  static void SetCurrentMethod(ObservedMethod* method);
  static UnaryCall* BeginObserved(grpc::CallbackServerContext* context);

  // The event this call leaves in the trail when it ends with `code`, if any; `reply` names a
  // created resource.
  bool NeedsAuditEvent(grpc::StatusCode code) const;
  common::v1::AuditEvent MakeAuditEvent(grpc::StatusCode code, bool completed,
                                        const google::protobuf::Message* reply) const;
  void WriteAuditEvent(std::function<void(const absl::Status&)> written);
  std::string Resource(grpc::StatusCode code, const google::protobuf::Message* reply) const;

  grpc::CallbackServerContext* const context_;
  ObservedMethod& method_;
  const absl::Time start_;
  const google::protobuf::Message* request_ = nullptr;
  const google::protobuf::Message* reply_ = nullptr;
  const grpc::ByteBuffer* raw_request_ = nullptr;
  std::string request_id_;
  std::string principal_;
  std::shared_ptr<std::atomic<bool>> personal_data_read_;  // the admitted caller's
  grpc::StatusCode code_ = grpc::StatusCode::CANCELLED;
  bool completed_ = false;
  bool audited_ = false;
  int outboxed_code_ = -1;  // MarkAuditCommitted's code; -1: none committed with the change
};

// What a unary handler answers through: the call's UnaryCall when the host observes the method,
// else the context's default reactor (a handler run outside the host). Two pointers: copy it
// into a completion that finishes the call later (e.g. after a group commit). Make one per call.
class UnaryHandle {
 public:
  UnaryHandle(grpc::CallbackServerContext* context, const google::protobuf::Message* request,
              const google::protobuf::Message* reply)
      : context_(context),
        call_(UnaryCall::Begin(context, request, reply)),
        reactor_(call_ != nullptr ? call_ : context->DefaultReactor()) {}
  UnaryHandle(grpc::CallbackServerContext* context, const grpc::ByteBuffer* raw_request)
      : context_(context),
        call_(UnaryCall::BeginRaw(context, raw_request)),
        reactor_(call_ != nullptr ? call_ : context->DefaultReactor()) {}

  // The caller, or UNAUTHENTICATED / PERMISSION_DENIED / RESOURCE_EXHAUSTED (CallGate).
  absl::StatusOr<Caller> Admit(CallGate& gate) const;
  // Finishes the call (once, from any thread) and returns its reactor, for the handler to return.
  grpc::ServerUnaryReactor* Finish(grpc::Status status) const;
  grpc::ServerUnaryReactor* reactor() const { return reactor_; }
  // For a job of a group committer that writes the call's audit event in its transaction
  // (runtime/audit/audit_outbox.h); empty (nothing written there) when the interceptor observes
  // the call. Valid until the call is finished.
  OutboxedAudit Outboxed() const;

 private:
  grpc::CallbackServerContext* context_;
  UnaryCall* call_;
  grpc::ServerUnaryReactor* reactor_;  // call_, or the context's default reactor (made once)
};

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_SERVER_UNARY_CALL_H_
