#include "runtime/server/stream_call.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "prometheus/counter.h"
#include "prometheus/histogram.h"
#include "runtime/audit/audit_log.h"
#include "runtime/logging/log.h"
#include "runtime/server/call_observer.h"
#include "runtime/server/call_registry.h"

namespace dorset::runtime {
namespace {

// The call made for the handler running on this thread, until its reactor takes it. Handlers
// make their reactor synchronously, on the thread that runs them.
thread_local StreamCall* waiting = nullptr;

std::string RequestIdOf(const grpc::CallbackServerContext& context) {
  const auto& metadata = context.client_metadata();
  if (auto it = metadata.find("x-request-id"); it != metadata.end()) {
    const absl::string_view id(it->second.data(), it->second.size());
    if (AcceptableRequestId(id)) return std::string(id);
  }
  return NewRequestId();
}

}  // namespace

StreamCall::StreamCall(grpc::CallbackServerContext* context, ObservedMethod& method,
                       const google::protobuf::Message* request)
    : context_(context),
      method_(method),
      start_(absl::Now()),
      info_(std::make_shared<CallInfo>(method.path)) {
  info_->set_request_id(RequestIdOf(*context));
  // Nothing is sent before the handler runs, so the id goes out with the first message or status.
  context->AddInitialMetadata("x-request-id", info_->request_id());
  // Streams are few and long: the registry's lock round trips cost nothing that matters here,
  // and the handlers keep admitting through CallGate::Admit(context).
  RegisterCall(context, info_);
  if (request != nullptr && method_.dorset) resource_ = ResourceOf(*request);
  method_.Metrics().Started().Increment();
}

void StreamCall::Begin(grpc::CallbackServerContext* context, ObservedMethod& method,
                       const google::protobuf::Message* request) {
  delete waiting;  // a previous handler's reactor did not take its call (a bug, but no leak)
  waiting = new StreamCall(context, method, request);
}

std::unique_ptr<StreamCall> StreamCall::Adopt() {
  return std::unique_ptr<StreamCall>(std::exchange(waiting, nullptr));
}

void StreamCall::NoteReceived(const google::protobuf::Message& message) {
  if (resource_.empty() && method_.dorset) resource_ = ResourceOf(message);
}

void StreamCall::NoteSent(const google::protobuf::Message& message) {
  if (sent_) return;
  sent_ = true;
  if (resource_.empty() && method_.dorset) resource_ = ResourceOf(message);
}

bool StreamCall::AuditDue() const {
  if (method_.observer.audit() == nullptr) return false;
  return (completed_ && (code_ == grpc::StatusCode::UNAUTHENTICATED ||
                         code_ == grpc::StatusCode::PERMISSION_DENIED)) ||
         IsWritePermission(*method_.permission) || info_->personal_data_read()->load();
}

void StreamCall::WriteAuditEvent(std::function<void(const absl::Status&)> written) {
  const bool denied = completed_ && (code_ == grpc::StatusCode::UNAUTHENTICATED ||
                                     code_ == grpc::StatusCode::PERMISSION_DENIED);
  common::v1::AuditEvent event;
  event.set_principal(info_->principal());
  event.set_method(method_.path);
  event.set_resource(resource_);
  event.set_action(denied                                   ? "DENIED"
                   : IsWritePermission(*method_.permission) ? "WRITE"
                                                            : "PERSONAL_DATA_READ");
  event.set_request_id(info_->request_id());
  event.set_outcome(completed_ ? CodeName(code_) : "CANCELLED");
  method_.observer.audit()->Record(std::move(event), std::move(written));
}

void StreamCall::Complete(grpc::Status status, std::function<void(const grpc::Status&)> finish) {
  code_ = status.error_code();
  completed_ = true;
  if (!AuditDue()) {
    finish(status);  // `this` may be gone from here on (OnDone destroys it)
    return;
  }
  // A stream is acknowledged only once its event is on disk: the status waits here (without
  // holding a thread) and goes out when the audit writer has committed it.
  audited_ = true;
  WriteAuditEvent([status = std::move(status),
                   finish = std::move(finish)](const absl::Status& written) {
    if (written.ok()) {
      finish(status);
      return;
    }
    // The trail could not take the event: the caller must not see success. The change may be
    // applied; every write is idempotent by request_id, so a retry answers the same.
    const auto code = written.code() == absl::StatusCode::kResourceExhausted
                          ? grpc::StatusCode::RESOURCE_EXHAUSTED
                          : grpc::StatusCode::UNAVAILABLE;
    finish(grpc::Status(code, "the audit trail could not record this call (" +
                                  std::string(written.message()) +
                                  "); its effect may be applied: retry with the same request_id"));
  });
}

StreamCall::~StreamCall() {
  UnregisterCall(context_);
  // A call that ended without Complete (cancelled before its reactor finished) is still audited.
  if (!audited_ && AuditDue()) WriteAuditEvent(nullptr);
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start_);
  MethodMetrics& metrics = method_.Metrics();
  metrics.Handled(code_).Increment();
  metrics.Latency().Observe(seconds);
  // Probes (health Watch) are logged at debug level; fields built only when the line is written.
  if (!log::Enabled(method_.probe ? log::Level::kDebug : log::Level::kInfo)) return;
  const log::Fields fields = {
      {"method", method_.path},          {"status", CodeName(code_)},
      {"duration_ms", seconds * 1000.0}, {"peer", context_->peer()},
      {"principal", info_->principal()}, {"request_id", info_->request_id()}};
  if (method_.probe) {
    log::Debug("rpc", fields);
  } else {
    log::Info("rpc", fields);
  }
}

}  // namespace dorset::runtime
