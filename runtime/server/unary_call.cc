#include "runtime/server/unary_call.h"

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "prometheus/counter.h"
#include "prometheus/histogram.h"
#include "runtime/audit/audit_log.h"
#include "runtime/logging/log.h"
#include "runtime/server/cached_unary.h"
#include "runtime/server/call_gate.h"
#include "runtime/server/call_observer.h"
#include "runtime/server/call_registry.h"
#include "runtime/status/errors.h"
#include "runtime/status/grpc_status.h"

namespace dorset::runtime {
namespace {

// The observed method whose handler this thread is running (set around the handler by
// ObservedHandler; the wrappers call UnaryCall::Begin synchronously inside it).
thread_local ObservedMethod* current_method = nullptr;

// The audit event's action for a call that ends with `code` (MakeAuditEvent, AuditRowFor).
std::string_view ActionOf(grpc::StatusCode code, Permission permission) {
  const bool denied =
      code == grpc::StatusCode::UNAUTHENTICATED || code == grpc::StatusCode::PERMISSION_DENIED;
  return denied ? "DENIED" : IsWritePermission(permission) ? "WRITE" : "PERSONAL_DATA_READ";
}

// CodeName's text, kept: an outbox row views it (AuditRowFor).
std::string_view KeptCodeName(grpc::StatusCode code) {
  static const std::vector<std::string>* const names = [] {
    auto* all = new std::vector<std::string>;
    for (int c = 0; c <= static_cast<int>(grpc::StatusCode::UNAUTHENTICATED); ++c) {
      all->push_back(CodeName(c));
    }
    return all;
  }();
  const auto c = static_cast<size_t>(code);
  return c < names->size() ? std::string_view((*names)[c]) : "";  // absl names no other code
}

}  // namespace

void UnaryCall::SetCurrentMethod(ObservedMethod* method) { current_method = method; }

UnaryCall::UnaryCall(grpc::CallbackServerContext* context, ObservedMethod& method)
    : context_(context), method_(method), start_(absl::Now()) {
  const auto& metadata = context->client_metadata();
  if (auto it = metadata.find("x-request-id");
      it != metadata.end() &&
      AcceptableRequestId(absl::string_view(it->second.data(), it->second.size()))) {
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
  absl::StatusOr<Caller> caller = gate.Admit(*context_, *method_.permission, &principal_);
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
  // No event, or its event for exactly this status was committed with the change (one sync for
  // both, audit_outbox.h): the reply goes at once. Any other status (the group rolled back) is
  // recorded below, as it always was.
  if (!NeedsAuditEvent(code_) || outboxed_code_ == static_cast<int>(code_)) {
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

bool UnaryCall::NeedsAuditEvent(grpc::StatusCode code) const {
  if (method_.observer.audit() == nullptr) return false;
  return code == grpc::StatusCode::UNAUTHENTICATED || code == grpc::StatusCode::PERMISSION_DENIED ||
         IsWritePermission(*method_.permission) ||
         (personal_data_read_ != nullptr && personal_data_read_->load());
}

bool UnaryCall::AuditRowFor(const absl::Status& status, const google::protobuf::Message* reply,
                            OutboxRow& row) const {
  // MakeAuditEvent's columns (audit_rows::BindEvent), without the message; the time is now, in
  // the transaction (Record assigns the others').
  const auto code = static_cast<grpc::StatusCode>(status.code());
  if (!NeedsAuditEvent(code)) return false;
  row.time_us = absl::ToUnixMicros(absl::Now());
  row.principal = principal_;
  row.method = method_.path;
  row.resource = Resource(code, reply);
  row.action = ActionOf(code, *method_.permission);
  row.request_id = request_id_;
  row.outcome = KeptCodeName(code);
  return true;
}

std::string UnaryCall::Resource(grpc::StatusCode code,
                                const google::protobuf::Message* reply) const {
  if (method_.raw_request_type != nullptr) {
    if (raw_request_ == nullptr || !raw_request_->Valid()) return "";
    std::unique_ptr<google::protobuf::Message> request(method_.raw_request_type->New());
    return ParseRawRequest(*raw_request_, request.get()).ok() ? ResourceOf(*request) : "";
  }
  if (!method_.dorset) return "";
  std::string resource = request_ != nullptr ? ResourceOf(*request_) : "";
  // A create names its resource only in the response (sent only with an OK status).
  if (reply == nullptr) reply = reply_;
  if (resource.empty() && reply != nullptr && code == grpc::StatusCode::OK) {
    resource = ResourceOf(*reply);
  }
  return resource;
}

common::v1::AuditEvent UnaryCall::MakeAuditEvent(grpc::StatusCode code, bool completed,
                                                 const google::protobuf::Message* reply) const {
  common::v1::AuditEvent event;
  event.set_principal(principal_);
  event.set_method(method_.path);
  event.set_resource(Resource(code, reply));
  event.set_action(std::string(ActionOf(code, *method_.permission)));
  event.set_request_id(request_id_);
  event.set_outcome(completed ? CodeName(code) : "CANCELLED");
  return event;
}

void UnaryCall::WriteAuditEvent(std::function<void(const absl::Status&)> written) {
  method_.observer.audit()->Record(MakeAuditEvent(code_, completed_, nullptr), std::move(written));
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

OutboxedAudit UnaryHandle::Outboxed() const {
  OutboxedAudit audit;
  if (call_ == nullptr) return audit;  // the interceptor records this call's event, as before
  UnaryCall* call = call_;
  audit.row_for = [call](const absl::Status& status, const google::protobuf::Message* reply,
                         OutboxRow& row) { return call->AuditRowFor(status, reply, row); };
  audit.mark_committed = [call](absl::StatusCode code) { call->MarkAuditCommitted(code); };
  return audit;
}

grpc::ServerUnaryReactor* UnaryHandle::Finish(grpc::Status status) const {
  if (call_ != nullptr) {
    call_->Complete(std::move(status));  // returned to gRPC, so not freed before it is bound
    return call_;
  }
  reactor_->Finish(std::move(status));
  return reactor_;
}

}  // namespace dorset::runtime
