// The server interceptor every call passes: request id (x-request-id in, echoed out, made up
// when absent), one JSON access-log line per call and Prometheus metrics per method and code.
#ifndef DORSET_RUNTIME_SERVER_OBSERVABILITY_INTERCEPTOR_H_
#define DORSET_RUNTIME_SERVER_OBSERVABILITY_INTERCEPTOR_H_

#include "grpcpp/support/server_interceptor.h"

namespace prometheus {
class Registry;
class Counter;
class Histogram;
template <typename T> class Family;
}  // namespace prometheus

namespace dorset::runtime {

class ObservabilityInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit ObservabilityInterceptorFactory(prometheus::Registry& registry);
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

  prometheus::Family<prometheus::Counter>& handled() { return *handled_; }
  prometheus::Family<prometheus::Histogram>& latency() { return *latency_; }
  prometheus::Family<prometheus::Counter>& started() { return *started_; }

 private:
  prometheus::Family<prometheus::Counter>* started_;
  prometheus::Family<prometheus::Counter>* handled_;
  prometheus::Family<prometheus::Histogram>* latency_;
};

// Longest x-request-id accepted from a client; longer or non-printable ids are replaced.
inline constexpr size_t kMaxRequestIdLength = 128;

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_SERVER_OBSERVABILITY_INTERCEPTOR_H_
