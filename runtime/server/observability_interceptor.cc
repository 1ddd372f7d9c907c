#include "runtime/server/observability_interceptor.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/server_context.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "runtime/audit/audit_log.h"
#include "runtime/auth/permissions.h"
#include "runtime/logging/log.h"
#include "runtime/server/cached_unary.h"
#include "runtime/server/call_gate.h"
#include "runtime/server/call_registry.h"
#include "runtime/status/errors.h"
#include "runtime/status/grpc_status.h"

namespace dorset::runtime {
namespace {

using grpc::experimental::InterceptionHookPoints;

bool AcceptableRequestId(grpc::string_ref id) {
  if (id.empty() || id.size() > kMaxRequestIdLength) return false;
  for (char c : id) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

std::string CodeName(grpc::StatusCode code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

// A method name from the client, fit for one log line: printable ASCII, at most 128 bytes.
std::string LoggableMethod(absl::string_view method) {
  constexpr size_t kMax = 128;
  std::string out;
  for (char c : method.substr(0, kMax)) out.push_back(c >= 0x20 && c <= 0x7e ? c : '?');
  if (method.size() > kMax) out.append("...");
  return out;
}

class ObservabilityInterceptor final : public grpc::experimental::Interceptor {
 public:
  // The method name is copied here, while gRPC guarantees it: for an unknown method it points
  // into the call's own buffers, which are freed before the interceptor is destroyed.
  ObservabilityInterceptor(grpc::experimental::ServerRpcInfo* info,
                           ObservabilityInterceptorFactory& factory)
      : info_(info),
        factory_(factory),
        call_(std::make_shared<CallInfo>(std::string(info->method() ? info->method() : ""))),
        start_(absl::Now()),
        permission_(RequiredPermission(call_->method())),
        known_(permission_.has_value()),
        raw_request_type_(known_ ? RawMethodRequest(call_->method()) : nullptr) {
    // Metric labels (and anything else kept per method) come only from the method table, so
    // a client inventing paths cannot grow them: every unknown method is one "unknown". The
    // labels are the method's series' own strings (kept for the server's life), not copies.
    const std::string& method = call_->method();
    const size_t slash = method.rfind('/');
    labelled_ = known_ && slash != std::string::npos && slash > 0;
    metrics_ = &factory_.ForMethod(method, labelled_);
    service_ = metrics_->service();
    if (!labelled_) unknown_log_method_ = LoggableMethod(method);
    // A unary or server-streaming request arrives before the handler; a null message there
    // means it did not parse (gRPC would answer UNIMPLEMENTED without asking the handler).
    single_request_ = info->type() == grpc::experimental::ServerRpcInfo::Type::UNARY ||
                      info->type() == grpc::experimental::ServerRpcInfo::Type::SERVER_STREAMING;
    call_->set_request_id(NewRequestId());
    RegisterCall(info->server_context(), call_);
    metrics_->Started().Increment();
  }

  ~ObservabilityInterceptor() override {
    UnregisterCall(info_->server_context());
    Audit();
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start_);
    const grpc::StatusCode code = status_seen_ ? code_ : grpc::StatusCode::CANCELLED;
    metrics_->Handled(code).Increment();
    metrics_->Latency().Observe(seconds);
    // Probes call health every few seconds; keep them out of the info stream. The fields are
    // built only when the line is written (most of the cost of a call at --log_level=warn).
    const bool probe = absl::StartsWith(service_, "grpc.health.");
    if (!log::Enabled(probe ? log::Level::kDebug : log::Level::kInfo)) return;
    const log::Fields fields = {
        {"method", std::string(log_method())}, {"status", CodeName(code)},
        {"duration_ms", seconds * 1000.0},     {"peer", peer_},
        {"principal", call_->principal()},     {"request_id", call_->request_id()}};
    if (probe) {
      log::Debug("rpc", fields);
    } else {
      log::Info("rpc", fields);
    }
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      auto* metadata = methods->GetRecvInitialMetadata();
      if (auto it = metadata->find("x-request-id");
          it != metadata->end() && AcceptableRequestId(it->second)) {
        call_->set_request_id(std::string(it->second.data(), it->second.size()));
      }
      // The peer is only for the access log line: not fetched when that line is not written.
      if (log::Enabled(log::Level::kDebug) ||
          (log::Enabled(log::Level::kInfo) && !absl::StartsWith(service_, "grpc.health."))) {
        peer_ = info_->server_context()->peer();
      }
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE) &&
        single_request_ && known_ && methods->GetRecvMessage() == nullptr) {
      malformed_request_ = true;
    }
    // A raw method's (cached_unary.h) request is bytes, kept (shared, not copied) and parsed
    // only if an audit event needs its resource; its reply is bytes too.
    if (raw_request_type_ != nullptr) {
      if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE) &&
          methods->GetRecvMessage() != nullptr) {
        raw_request_ = *static_cast<const grpc::ByteBuffer*>(methods->GetRecvMessage());
      }
    } else if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE) &&
               resource_.empty() && absl::StartsWith(service_, "dorset.") &&
               methods->GetRecvMessage() != nullptr) {
      resource_ =
          ResourceOf(*static_cast<const google::protobuf::Message*>(methods->GetRecvMessage()));
    }
    // A create names its resource only in the response (the server assigns or confirms it).
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_MESSAGE) &&
        raw_request_type_ == nullptr && resource_.empty() &&
        absl::StartsWith(service_, "dorset.") && methods->GetSendMessage() != nullptr) {
      resource_ =
          ResourceOf(*static_cast<const google::protobuf::Message*>(methods->GetSendMessage()));
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      // The map owns its strings (it lives in the ServerContext until the metadata is sent).
      methods->GetSendInitialMetadata()->emplace("x-request-id", call_->request_id());
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      if (malformed_request_) methods->ModifySendStatus(MalformedRequestStatus());
      status_seen_ = true;
      code_ = methods->GetSendStatus().error_code();
      // An audited call is acknowledged only once its event is on disk: the reply waits here
      // (without holding a thread) and goes out when the audit writer has committed it.
      if (std::optional<common::v1::AuditEvent> event = AuditEvent(); event.has_value()) {
        audited_ = true;
        factory_.audit()->Record(*std::move(event), [methods](const absl::Status& written) {
          if (!written.ok()) RefuseUnaudited(methods, written);
          methods->Proceed();
        });
        return;
      }
    }
    methods->Proceed();
  }

 private:
  // The answer to a request that did not parse, in place of gRPC's bare UNIMPLEMENTED: the
  // caller is authenticated and authorised first (UNAUTHENTICATED before anything else), and
  // a caller who may call the method learns that the message was bad.
  grpc::Status MalformedRequestStatus() {
    if (CallGate* gate = factory_.gate(); gate != nullptr) {
      absl::StatusOr<Caller> caller = gate->Admit(*info_->server_context());
      if (!caller.ok()) return ToGrpcStatus(caller.status());
    }
    return ToGrpcStatus(InvalidArgument(
        "request", "the request message does not parse as this method's protobuf message"));
  }

  // The trail could not take the event: the caller must not see success (nor personal data).
  // The change may already be applied; every write is idempotent by request_id, so a retry
  // after the disk recovers answers the same and is audited then.
  static void RefuseUnaudited(grpc::experimental::InterceptorBatchMethods* methods,
                              const absl::Status& written) {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_MESSAGE)) {
      if (grpc::ByteBuffer* reply = methods->GetSerializedSendMessage()) reply->Clear();
    }
    const auto code = written.code() == absl::StatusCode::kResourceExhausted
                          ? grpc::StatusCode::RESOURCE_EXHAUSTED
                          : grpc::StatusCode::UNAVAILABLE;
    methods->ModifySendStatus(grpc::Status(
        code, "the audit trail could not record this call (" + std::string(written.message()) +
                  "); its effect may be applied: retry with the same request_id"));
  }

  void Audit() {
    if (audited_) return;
    if (std::optional<common::v1::AuditEvent> event = AuditEvent(); event.has_value()) {
      factory_.audit()->Record(*std::move(event));
    }
  }

  // The event this call leaves in the trail, if any.
  std::optional<common::v1::AuditEvent> AuditEvent() {
    AuditLog* audit = factory_.audit();
    if (audit == nullptr) return std::nullopt;
    const std::optional<Permission>& permission = permission_;
    const bool denied = status_seen_ && (code_ == grpc::StatusCode::UNAUTHENTICATED ||
                                         code_ == grpc::StatusCode::PERMISSION_DENIED);
    std::string action;
    if (denied) {
      action = "DENIED";
    } else if (permission.has_value() && IsWritePermission(*permission)) {
      action = "WRITE";
    } else if (call_->personal_data_read()->load()) {
      action = "PERSONAL_DATA_READ";
    } else {
      return std::nullopt;
    }
    if (resource_.empty() && raw_request_type_ != nullptr && raw_request_.Valid()) {
      std::unique_ptr<google::protobuf::Message> request(raw_request_type_->New());
      if (ParseRawRequest(raw_request_, request.get()).ok()) resource_ = ResourceOf(*request);
    }
    common::v1::AuditEvent event;
    event.set_principal(call_->principal());
    event.set_method(std::string(log_method()));
    event.set_resource(resource_);
    event.set_action(action);
    event.set_request_id(call_->request_id());
    event.set_outcome(status_seen_ ? CodeName(code_) : "CANCELLED");
    return event;
  }

  // The method as logged and audited: its path when in the method table, else the client's
  // path made printable.
  absl::string_view log_method() const {
    return labelled_ ? absl::string_view(call_->method()) : absl::string_view(unknown_log_method_);
  }

  grpc::experimental::ServerRpcInfo* info_;
  ObservabilityInterceptorFactory& factory_;
  MethodMetrics* metrics_ = nullptr;  // set in the constructor
  std::shared_ptr<CallInfo> call_;
  const absl::Time start_;
  const std::optional<Permission> permission_;  // of the method table; none for unknown methods
  const bool known_;
  bool labelled_ = false;           // in the method table, with a service and a method name
  absl::string_view service_;       // metrics_->service(): "unknown" for unknown methods
  std::string unknown_log_method_;  // set for methods outside the method table only
  const google::protobuf::Message* const raw_request_type_;  // set for raw methods only
  grpc::ByteBuffer raw_request_;
  bool single_request_ = false;
  bool malformed_request_ = false;
  std::string peer_;
  std::string resource_;
  bool status_seen_ = false;
  bool audited_ = false;  // recorded when the status was sent
  grpc::StatusCode code_ = grpc::StatusCode::OK;
};

}  // namespace

ObservabilityInterceptorFactory::ObservabilityInterceptorFactory(prometheus::Registry& registry,
                                                                 AuditLog* audit, CallGate* gate)
    : started_(&prometheus::BuildCounter()
                    .Name("grpc_server_started_total")
                    .Help("RPCs started on the server")
                    .Register(registry)),
      handled_(&prometheus::BuildCounter()
                    .Name("grpc_server_handled_total")
                    .Help("RPCs completed on the server, by status code")
                    .Register(registry)),
      latency_(&prometheus::BuildHistogram()
                    .Name("grpc_server_handling_seconds")
                    .Help("Time from the start of an RPC to its end, in seconds")
                    .Register(registry)),
      audit_(audit),
      gate_(gate) {}

MethodMetrics& ObservabilityInterceptorFactory::ForMethod(absl::string_view path, bool known) {
  const absl::string_view key = known ? path : absl::string_view("unknown");
  {
    absl::ReaderMutexLock lock(&mu_);
    if (auto it = by_method_.find(key); it != by_method_.end()) return *it->second;
  }
  std::string service = "unknown";
  std::string method = "unknown";
  if (known) {
    const size_t slash = path.rfind('/');
    service = std::string(path.substr(1, slash - 1));
    method = std::string(path.substr(slash + 1));
  }
  absl::MutexLock lock(&mu_);
  std::unique_ptr<MethodMetrics>& entry = by_method_[key];
  if (entry == nullptr) {
    prometheus::Counter& started =
        started_->Add({{"grpc_service", service}, {"grpc_method", method}});
    entry = std::make_unique<MethodMetrics>(started, *handled_, *latency_, std::move(service),
                                            std::move(method));
  }
  return *entry;
}

prometheus::Counter& MethodMetrics::Handled(int code) {
  if (code < 0 || code >= kCodes) {  // not a code gRPC defines: no cached slot
    return handled_.Add({{"grpc_service", service_},
                         {"grpc_method", method_},
                         {"grpc_code", CodeName(static_cast<grpc::StatusCode>(code))}});
  }
  std::atomic<prometheus::Counter*>& slot = handled_by_code_[code];
  prometheus::Counter* counter = slot.load(std::memory_order_acquire);
  if (counter == nullptr) {
    counter = &handled_.Add({{"grpc_service", service_},
                             {"grpc_method", method_},
                             {"grpc_code", CodeName(static_cast<grpc::StatusCode>(code))}});
    slot.store(counter, std::memory_order_release);
  }
  return *counter;
}

prometheus::Histogram& MethodMetrics::Latency() {
  prometheus::Histogram* histogram = latency_series_.load(std::memory_order_acquire);
  if (histogram == nullptr) {
    histogram = &latency_.Add(
        {{"grpc_service", service_}, {"grpc_method", method_}},
        prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                0.1, 0.25, 0.5, 1, 2.5, 5, 10});
    latency_series_.store(histogram, std::memory_order_release);
  }
  return *histogram;
}

namespace {

// Where a message type keeps its resource name, found once per type (FindFieldByName hashes the
// name on every call: most of ResourceOf's cost when it ran per call).
struct ResourcePlan {
  std::vector<const google::protobuf::FieldDescriptor*> own;  // `name`, then `parent`
  // Singular message fields, in field order, whose type has a singular string `name`.
  std::vector<
      std::pair<const google::protobuf::FieldDescriptor*, const google::protobuf::FieldDescriptor*>>
      inner;
};

bool SingularString(const google::protobuf::FieldDescriptor* field) {
  return field != nullptr && field->type() == google::protobuf::FieldDescriptor::TYPE_STRING &&
         !field->is_repeated();
}

const ResourcePlan& PlanOf(const google::protobuf::Descriptor* descriptor) {
  // Per thread, so no lock; bounded by the message types of the method table.
  thread_local absl::flat_hash_map<const google::protobuf::Descriptor*, ResourcePlan> plans;
  auto [it, inserted] = plans.try_emplace(descriptor);
  if (inserted) {
    ResourcePlan& plan = it->second;
    for (const char* name : {"name", "parent"}) {
      if (const auto* field = descriptor->FindFieldByName(name); SingularString(field)) {
        plan.own.push_back(field);
      }
    }
    for (int i = 0; i < descriptor->field_count(); ++i) {
      const auto* field = descriptor->field(i);
      if (field->type() != google::protobuf::FieldDescriptor::TYPE_MESSAGE ||
          field->is_repeated()) {
        continue;
      }
      if (const auto* name = field->message_type()->FindFieldByName("name"); SingularString(name)) {
        plan.inner.emplace_back(field, name);
      }
    }
  }
  return it->second;
}

}  // namespace

std::string ResourceOf(const google::protobuf::Message& request) {
  constexpr size_t kMaxLength = 256;
  const ResourcePlan& plan = PlanOf(request.GetDescriptor());
  const auto* reflection = request.GetReflection();
  std::string scratch;
  for (const auto* field : plan.own) {
    const std::string& value = reflection->GetStringReference(request, field, &scratch);
    if (!value.empty()) return value.substr(0, kMaxLength);
  }
  for (const auto& [field, name] : plan.inner) {
    if (!reflection->HasField(request, field)) continue;
    const auto& inner = reflection->GetMessage(request, field);
    const std::string& value = inner.GetReflection()->GetStringReference(inner, name, &scratch);
    if (!value.empty()) return value.substr(0, kMaxLength);
  }
  return "";
}

ObservedMethod::ObservedMethod(ObservabilityInterceptorFactory& factory, std::string path)
    : factory(factory),
      path(std::move(path)),
      permission(RequiredPermission(this->path)),
      dorset(absl::StartsWith(this->path, "/dorset.")),
      probe(absl::StartsWith(this->path, "/grpc.health.")),
      raw_request_type(RawMethodRequest(this->path)) {}

MethodMetrics& ObservedMethod::Metrics() {
  MethodMetrics* metrics = metrics_.load(std::memory_order_acquire);
  if (metrics == nullptr) {
    metrics = &factory.ForMethod(path, /*known=*/true);
    metrics_.store(metrics, std::memory_order_release);
  }
  return *metrics;
}

ObservedMethod& ObservabilityInterceptorFactory::Observe(const char* name) {
  observed_names_.insert(name);
  return *observed_.emplace_back(std::make_unique<ObservedMethod>(*this, name));
}

grpc::experimental::Interceptor* ObservabilityInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  // Observed by the handler wrapper (unary_call.h): no interceptor, so gRPC runs none of its
  // interception hooks for the call.
  if (observed_names_.contains(info->method())) return nullptr;
  // gRPC takes ownership of the interceptor and deletes it when the call ends.
  return new ObservabilityInterceptor(info, *this);
}

}  // namespace dorset::runtime
