#include "runtime/server/observability_interceptor.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "grpcpp/server_context.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "runtime/logging/log.h"
#include "runtime/server/call_registry.h"

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

class ObservabilityInterceptor final : public grpc::experimental::Interceptor {
 public:
  ObservabilityInterceptor(grpc::experimental::ServerRpcInfo* info,
                           ObservabilityInterceptorFactory& factory)
      : info_(info),
        factory_(factory),
        call_(std::make_shared<CallInfo>(info->method())),
        start_(absl::Now()) {
    const std::string method = info->method();
    const size_t slash = method.rfind('/');
    service_ = slash == std::string::npos || slash == 0 ? "unknown" : method.substr(1, slash - 1);
    method_ = slash == std::string::npos ? method : method.substr(slash + 1);
    call_->set_request_id(NewRequestId());
    RegisterCall(info->server_context(), call_);
    factory_.started().Add({{"grpc_service", service_}, {"grpc_method", method_}}).Increment();
  }

  ~ObservabilityInterceptor() override {
    UnregisterCall(info_->server_context());
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start_);
    const std::string code = status_seen_ ? CodeName(code_) : "CANCELLED";
    factory_.handled()
        .Add({{"grpc_service", service_}, {"grpc_method", method_}, {"grpc_code", code}})
        .Increment();
    factory_
        .latency()
        .Add({{"grpc_service", service_}, {"grpc_method", method_}},
             prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                     0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10})
        .Observe(seconds);
    const log::Fields fields = {{"method", info_->method()},
                                {"status", code},
                                {"duration_ms", seconds * 1000.0},
                                {"peer", peer_},
                                {"principal", call_->principal()},
                                {"request_id", call_->request_id()}};
    // Probes call health every few seconds; keep them out of the info stream.
    if (absl::StartsWith(service_, "grpc.health.")) {
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
      peer_ = info_->server_context()->peer();
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      request_id_out_ = call_->request_id();
      methods->GetSendInitialMetadata()->emplace("x-request-id", request_id_out_);
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      status_seen_ = true;
      code_ = methods->GetSendStatus().error_code();
    }
    methods->Proceed();
  }

 private:
  grpc::experimental::ServerRpcInfo* info_;
  ObservabilityInterceptorFactory& factory_;
  std::shared_ptr<CallInfo> call_;
  const absl::Time start_;
  std::string service_;
  std::string method_;
  std::string peer_;
  std::string request_id_out_;  // must outlive the send of initial metadata
  bool status_seen_ = false;
  grpc::StatusCode code_ = grpc::StatusCode::OK;
};

}  // namespace

ObservabilityInterceptorFactory::ObservabilityInterceptorFactory(prometheus::Registry& registry)
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
                    .Register(registry)) {}

grpc::experimental::Interceptor* ObservabilityInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  // gRPC takes ownership of the interceptor and deletes it when the call ends.
  return new ObservabilityInterceptor(info, *this);
}

}  // namespace dorset::runtime
