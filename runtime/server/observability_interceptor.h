// The server interceptor: request id (x-request-id in, echoed out, made up when absent), one
// JSON access-log line per call, Prometheus metrics per method and code, and the audit record of
// writes, refusals and personal-data reads (audit/audit_log.h). The host's unary methods are
// taken out of it and observed the same way by the handler wrappers (unary_call.h); it sees
// streams, methods outside the method table and reflection.
#ifndef DORSET_RUNTIME_SERVER_OBSERVABILITY_INTERCEPTOR_H_
#define DORSET_RUNTIME_SERVER_OBSERVABILITY_INTERCEPTOR_H_

#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/message.h"
#include "grpcpp/support/server_interceptor.h"
#include "runtime/auth/permissions.h"

namespace prometheus {
class Registry;
class Counter;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

namespace dorset::runtime {

class AuditLog;
class CallGate;

// One method's series, looked up once per method instead of once per call (Family::Add builds
// and hashes the label map each time). A series appears when it is first used, as before.
class MethodMetrics {
 public:
  MethodMetrics(prometheus::Counter& started, prometheus::Family<prometheus::Counter>& handled,
                prometheus::Family<prometheus::Histogram>& latency, std::string service,
                std::string method)
      : started_(started),
        handled_(handled),
        latency_(latency),
        service_(std::move(service)),
        method_(std::move(method)) {}
  prometheus::Counter& Started() { return started_; }
  prometheus::Counter& Handled(int code);  // grpc::StatusCode
  prometheus::Histogram& Latency();
  const std::string& service() const { return service_; }
  const std::string& method() const { return method_; }

 private:
  static constexpr int kCodes = 17;  // grpc::StatusCode OK..UNAUTHENTICATED
  prometheus::Counter& started_;
  prometheus::Family<prometheus::Counter>& handled_;
  prometheus::Family<prometheus::Histogram>& latency_;
  const std::string service_;
  const std::string method_;
  // Each made on first use; Family::Add returns the same series to racing callers.
  std::array<std::atomic<prometheus::Counter*>, kCodes> handled_by_code_{};
  std::atomic<prometheus::Histogram*> latency_series_{nullptr};
};

class ObservabilityInterceptorFactory;

// A unary method of the method table that the host observes in its handler wrapper (unary_call.h)
// instead of through the interceptor: what the interceptor worked out per call, once per method.
struct ObservedMethod {
  ObservedMethod(ObservabilityInterceptorFactory& factory, std::string path);
  MethodMetrics& Metrics();  // made on first use, as the interceptor's series are

  ObservabilityInterceptorFactory& factory;
  const std::string path;                      // "/package.Service/Method"
  const std::optional<Permission> permission;  // always set: only known methods are observed
  const bool dorset;                           // a "dorset." service: resources are audited
  const bool probe;                            // grpc.health.*: logged at debug level
  const google::protobuf::Message* const raw_request_type;  // cached_unary.h; null if typed

 private:
  std::atomic<MethodMetrics*> metrics_{nullptr};
};

class ObservabilityInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  // `audit` may be null (no audit trail, e.g. the echo baseline). `gate` (may be null) decides
  // who is told what about a request that does not parse.
  ObservabilityInterceptorFactory(prometheus::Registry& registry, AuditLog* audit,
                                  CallGate* gate = nullptr);
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

  prometheus::Family<prometheus::Counter>& handled() { return *handled_; }
  prometheus::Family<prometheus::Histogram>& latency() { return *latency_; }
  prometheus::Family<prometheus::Counter>& started() { return *started_; }
  AuditLog* audit() { return audit_; }
  CallGate* gate() { return gate_; }

  // The series of the method at `path` ("/package.Service/Method"), or of "unknown"/"unknown"
  // when `known` is false (labels limited to the method table), made on first use with its
  // started counter. Found under a reader lock, without building a key: once per call.
  MethodMetrics& ForMethod(absl::string_view path, bool known) ABSL_LOCKS_EXCLUDED(mu_);

  // Hands the method named `name` (the registered method's own string, which gRPC passes to
  // CreateServerInterceptor) to the handler wrapper: its calls get no interceptor, so none of
  // gRPC's interception machinery runs for them. Before the server starts only.
  ObservedMethod& Observe(const char* name);

 private:
  prometheus::Family<prometheus::Counter>* started_;
  prometheus::Family<prometheus::Counter>* handled_;
  prometheus::Family<prometheus::Histogram>* latency_;
  AuditLog* audit_;
  CallGate* gate_;
  absl::Mutex mu_;
  // Keyed by the method's path; bounded by the method table (unknown methods share one key).
  absl::flat_hash_map<std::string, std::unique_ptr<MethodMetrics>> by_method_ ABSL_GUARDED_BY(mu_);
  // Filled before the server starts, read-only afterwards: keyed by the name's address.
  absl::flat_hash_set<const char*> observed_names_;
  std::vector<std::unique_ptr<ObservedMethod>> observed_;
};

// The resource a request (or, for creates, the response) is about: its `name`, else `parent`,
// else the `name` of its first message field that has one (UpdatePracticeRequest.practice.name).
// Empty when none.
std::string ResourceOf(const google::protobuf::Message& request);

// Longest x-request-id accepted from a client; longer or non-printable ids are replaced.
inline constexpr size_t kMaxRequestIdLength = 128;

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_SERVER_OBSERVABILITY_INTERCEPTOR_H_
