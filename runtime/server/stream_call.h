// A streaming call of the method table, observed by the runtime instead of a gRPC interceptor:
// request id (x-request-id in, echoed out, made up when absent), one access-log line, the
// method's metrics and the audit record, as UnaryCall (unary_call.h) does for unary calls. The
// host registers no interceptor at all (gRPC would then build a ServerRpcInfo and ask a factory
// on every call, the unary ones included), so a stream's reactor takes its part:
//
//   - the host's handler wrapper (ObserveMethods) makes the StreamCall before the handler runs,
//     so CallGate::Admit(context) in the handler finds the call as before;
//   - the reactor the handler returns takes it in its constructor (Adopt) and ends the call
//     through it (FinishObserved: an audited call is answered once its event is on disk);
//   - the reactor destroys it in OnDone, which writes the metrics and the access-log line.
//
// StreamWriter and RefusedStream do all three; a reactor of its own (ImportFile's, ExportCsv's)
// does them itself.
#ifndef DORSET_RUNTIME_SERVER_STREAM_CALL_H_
#define DORSET_RUNTIME_SERVER_STREAM_CALL_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/status.h"

namespace dorset::runtime {

class CallInfo;
struct ObservedMethod;

class StreamCall {
 public:
  // The call whose handler runs on this thread, for the reactor that handler makes; null when the
  // method is not observed (a reactor made outside a handler of the host's services).
  static std::unique_ptr<StreamCall> Adopt();

  // Metrics, the access-log line and (if still due) the audit event: from the reactor's OnDone.
  ~StreamCall();
  StreamCall(const StreamCall&) = delete;
  StreamCall& operator=(const StreamCall&) = delete;

  // A message of a client stream (the first that names a resource names the audited one).
  void NoteReceived(const google::protobuf::Message& message);
  // A message the server sends: a create names its resource only there.
  void NoteSent(const google::protobuf::Message& message);

  // Ends the call with `status`: `finish` (the reactor's Finish) runs with the status to send, at
  // once, or when the call's audit event is on disk (from the audit writer's thread). If the
  // trail cannot take the event the caller is refused (UNAVAILABLE / RESOURCE_EXHAUSTED), as for
  // unary calls. Once per call.
  void Complete(grpc::Status status, std::function<void(const grpc::Status&)> finish);

 private:
  friend class ObservedHandler;
  StreamCall(grpc::CallbackServerContext* context, ObservedMethod& method,
             const google::protobuf::Message* request);
  // Made by the host's handler wrapper before the handler runs; left for Adopt.
  static void Begin(grpc::CallbackServerContext* context, ObservedMethod& method,
                    const google::protobuf::Message* request);

  bool AuditDue() const;
  void WriteAuditEvent(std::function<void(const absl::Status&)> written);

  grpc::CallbackServerContext* const context_;
  ObservedMethod& method_;
  const absl::Time start_;
  const std::shared_ptr<CallInfo> info_;  // registered for CallGate::Admit(context)
  std::string resource_;
  bool sent_ = false;  // a message was sent (only the first names the resource)
  bool completed_ = false;
  bool audited_ = false;
  grpc::StatusCode code_ = grpc::StatusCode::CANCELLED;
};

// Ends `reactor`'s call with `status`: through `call` (the call's audit event written first)
// when it is observed, else at once. `reactor` may be gone when this returns.
template <typename Reactor>
void FinishObserved(StreamCall* call, Reactor* reactor, grpc::Status status) {
  if (call == nullptr) {
    reactor->Finish(std::move(status));
    return;
  }
  call->Complete(std::move(status), [reactor](const grpc::Status& s) { reactor->Finish(s); });
}

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_SERVER_STREAM_CALL_H_
