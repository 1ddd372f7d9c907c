#include "runtime/server/call_observer.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "runtime/server/cached_unary.h"

namespace dorset::runtime {

bool AcceptableRequestId(absl::string_view id) {
  if (id.empty() || id.size() > kMaxRequestIdLength) return false;
  for (char c : id) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

std::string CodeName(int code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

std::string LoggableMethod(absl::string_view method) {
  constexpr size_t kMax = 128;
  std::string out;
  for (char c : method.substr(0, kMax)) out.push_back(c >= 0x20 && c <= 0x7e ? c : '?');
  if (method.size() > kMax) out.append("...");
  return out;
}

CallObserver::CallObserver(prometheus::Registry& registry, AuditLog* audit)
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
      audit_(audit) {}

MethodMetrics& CallObserver::ForMethod(absl::string_view path, bool known) {
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
    return handled_.Add(
        {{"grpc_service", service_}, {"grpc_method", method_}, {"grpc_code", CodeName(code)}});
  }
  std::atomic<prometheus::Counter*>& slot = handled_by_code_[code];
  prometheus::Counter* counter = slot.load(std::memory_order_acquire);
  if (counter == nullptr) {
    counter = &handled_.Add(
        {{"grpc_service", service_}, {"grpc_method", method_}, {"grpc_code", CodeName(code)}});
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

ObservedMethod::ObservedMethod(CallObserver& observer, std::string path)
    : observer(observer),
      path(std::move(path)),
      permission(RequiredPermission(this->path)),
      dorset(absl::StartsWith(this->path, "/dorset.")),
      probe(absl::StartsWith(this->path, "/grpc.health.")),
      raw_request_type(RawMethodRequest(this->path)) {}

MethodMetrics& ObservedMethod::Metrics() {
  MethodMetrics* metrics = metrics_.load(std::memory_order_acquire);
  if (metrics == nullptr) {
    metrics = &observer.ForMethod(path, /*known=*/true);
    metrics_.store(metrics, std::memory_order_release);
  }
  return *metrics;
}

ObservedMethod& CallObserver::Observe(std::string path) {
  return *observed_.emplace_back(std::make_unique<ObservedMethod>(*this, std::move(path)));
}

}  // namespace dorset::runtime
