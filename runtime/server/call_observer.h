// How every call is observed: request id (x-request-id in, echoed out, made up when absent), one
// JSON access-log line per call, Prometheus metrics per method and code, and the audit record of
// writes, refusals and personal-data reads (audit/audit_log.h). The work is done per call by the
// handler wrappers (unary_call.h, stream_call.h) and, for methods outside the services, by
// UnknownMethods (unknown_methods.h); this holds what they share.
#ifndef DORSET_RUNTIME_SERVER_CALL_OBSERVER_H_
#define DORSET_RUNTIME_SERVER_CALL_OBSERVER_H_

#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/message.h"
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

class CallObserver;

// A method of the method table that the host observes in its handler wrapper (unary_call.h for
// unary calls, stream_call.h for streams): what was worked out per call, once per method.
struct ObservedMethod {
  ObservedMethod(CallObserver& observer, std::string path);
  MethodMetrics& Metrics();  // made on first use, as every series is

  CallObserver& observer;
  const std::string path;                      // "/package.Service/Method"
  const std::optional<Permission> permission;  // always set: only known methods are observed
  const bool dorset;                           // a "dorset." service: resources are audited
  const bool probe;                            // grpc.health.*: logged at debug level
  const google::protobuf::Message* const raw_request_type;  // cached_unary.h; null if typed

 private:
  std::atomic<MethodMetrics*> metrics_{nullptr};
};

// What every call is observed with: the grpc_server_* metric families and the audit trail. The host
// registers no gRPC interceptor (gRPC would then build a ServerRpcInfo and ask a factory on every
// call, observed or not): its services' methods are observed by the handler wrappers
// (ObserveMethods), methods outside them by UnknownMethods (unknown_methods.h).
class CallObserver {
 public:
  // `audit` may be null (no audit trail, e.g. the echo baseline).
  CallObserver(prometheus::Registry& registry, AuditLog* audit);

  AuditLog* audit() { return audit_; }

  // The series of the method at `path` ("/package.Service/Method"), or of "unknown"/"unknown"
  // when `known` is false (labels limited to the method table), made on first use with its
  // started counter. Found under a reader lock, without building a key.
  MethodMetrics& ForMethod(absl::string_view path, bool known) ABSL_LOCKS_EXCLUDED(mu_);

  // The method at `path`, observed by the handler wrapper from now on. Before the server starts.
  ObservedMethod& Observe(std::string path);

 private:
  prometheus::Family<prometheus::Counter>* started_;
  prometheus::Family<prometheus::Counter>* handled_;
  prometheus::Family<prometheus::Histogram>* latency_;
  AuditLog* audit_;
  absl::Mutex mu_;
  // Keyed by the method's path; bounded by the method table (unknown methods share one key).
  absl::flat_hash_map<std::string, std::unique_ptr<MethodMetrics>> by_method_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<ObservedMethod>> observed_;
};

// The status code's name as metrics, logs and audit events spell it ("NOT_FOUND").
std::string CodeName(int code);
// An acceptable x-request-id from a client: printable ASCII, 1..kMaxRequestIdLength bytes.
bool AcceptableRequestId(absl::string_view id);
// A method name from the client, fit for one log line: printable ASCII, at most 128 bytes.
std::string LoggableMethod(absl::string_view method);

// The resource a request (or, for creates, the response) is about: its `name`, else `parent`,
// else the `name` of its first message field that has one (UpdatePracticeRequest.practice.name).
// Empty when none.
std::string ResourceOf(const google::protobuf::Message& request);

// Longest x-request-id accepted from a client; longer or non-printable ids are replaced.
inline constexpr size_t kMaxRequestIdLength = 128;

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_SERVER_CALL_OBSERVER_H_
