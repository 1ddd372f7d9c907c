// The server interceptor every call passes: request id (x-request-id in, echoed out, made up
// when absent), one JSON access-log line per call, Prometheus metrics per method and code, and
// the audit record of writes, refusals and personal-data reads (audit/audit_log.h).
#ifndef DORSET_RUNTIME_SERVER_OBSERVABILITY_INTERCEPTOR_H_
#define DORSET_RUNTIME_SERVER_OBSERVABILITY_INTERCEPTOR_H_

#include <string>

#include "google/protobuf/message.h"
#include "grpcpp/support/server_interceptor.h"

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

 private:
  prometheus::Family<prometheus::Counter>* started_;
  prometheus::Family<prometheus::Counter>* handled_;
  prometheus::Family<prometheus::Histogram>* latency_;
  AuditLog* audit_;
  CallGate* gate_;
};

// The resource a request (or, for creates, the response) is about: its `name`, else `parent`,
// else the `name` of its first message field that has one (UpdatePracticeRequest.practice.name).
// Empty when none.
std::string ResourceOf(const google::protobuf::Message& request);

// Longest x-request-id accepted from a client; longer or non-printable ids are replaced.
inline constexpr size_t kMaxRequestIdLength = 128;

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_SERVER_OBSERVABILITY_INTERCEPTOR_H_
