// dorset-gateway: HTTP/JSON (and /openapi.json) for the services' gRPC APIs. Settings: --help.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/synchronization/mutex.h"
#include "dorset/common/v1/audit.pb.h"
#include "dorset/engagement/v1/engagement.grpc.pb.h"
#include "dorset/finance/v1/finance.grpc.pb.h"
#include "dorset/registry/v1/registry.grpc.pb.h"
#include "gateway/gateway_config.h"
#include "gateway/gateway_server.h"
#include "gateway/openapi.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

std::string_view DorsetApiDescriptors();

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace dorset::gateway;
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--help") {
      std::fputs(GatewayUsage().c_str(), stdout);
      return 0;
    }
  }
  absl::StatusOr<GatewayConfig> config = LoadGatewayConfig(argc, argv);
  if (!config.ok()) {
    std::fprintf(stderr, "dorset-gateway: %s\n%s", std::string(config.status().message()).c_str(),
                 GatewayUsage().c_str());
    return 2;
  }
#ifdef NDEBUG
  // As runtime/server/service_host.cc does for the services: Debian's Abseil keeps absl::Mutex's
  // deadlock detection on (a lock-order graph updated on every Lock, gRPC's locks included);
  // Release turns it off (GraphCycles showed in the gateway's profile under load). Debug and
  // sanitizer builds, which run the tests, keep it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif
  // Block the stop signals before any thread starts, so only sigwait below sees them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!config->backend_tls_ca.empty()) {
    grpc::SslCredentialsOptions tls;
    tls.pem_root_certs = ReadFile(config->backend_tls_ca);
    credentials = grpc::SslCredentials(tls);
  }
  // Touching one message of each contract links its generated descriptors into the pool the
  // routes are read from (a static library's unreferenced object would be left out).
  (void)dorset::registry::v1::GetPracticeRequest::descriptor();
  (void)dorset::finance::v1::GetPlanRequest::descriptor();
  (void)dorset::engagement::v1::Stakeholder::descriptor();
  GatewayOptions options;
  const std::pair<const std::string*, const char*> services[] = {
      {&config->registry_target, dorset::registry::v1::RegistryService::service_full_name()},
      {&config->finance_target, dorset::finance::v1::FinanceService::service_full_name()},
      {&config->engagement_target, dorset::engagement::v1::EngagementService::service_full_name()},
  };
  for (const auto& [target, service] : services) {
    if (!target->empty()) options.backends[service] = grpc::CreateChannel(*target, credentials);
  }
  // The registry's FHIR R4 face (docs/fhir.md) rides on the registry's channel.
  if (const auto registry =
          options.backends.find(dorset::registry::v1::RegistryService::service_full_name());
      registry != options.backends.end()) {
    options.fhir = std::make_shared<fhir::FhirService>(registry->second);
  }
  options.listen = config->http_listen;
  options.tls_cert = config->tls_cert;
  options.tls_key = config->tls_key;
  options.max_body_bytes = static_cast<size_t>(config->max_body_bytes);
  options.default_timeout = absl::Seconds(config->default_timeout_seconds);
  options.threads = config->threads;
  std::vector<std::string> names;
  for (const auto& [name, channel] : options.backends) names.push_back(name);
  // Every process serves its own audit trail: /v1/<process>/auditEvents for each.
  (void)dorset::common::v1::ListAuditEventsRequest::descriptor();
  options.per_backend = PerBackendServices();
  absl::StatusOr<RouteTable> routes = RouteTable::Build(
      *google::protobuf::DescriptorPool::generated_pool(), names, options.per_backend);
  if (!routes.ok()) {
    std::fprintf(stderr, "dorset-gateway: %s\n", std::string(routes.status().message()).c_str());
    return 1;
  }
  absl::StatusOr<std::string> openapi =
      BuildOpenApi(*routes, DorsetApiDescriptors(), "Dorset Digital API");
  if (!openapi.ok()) {
    std::fprintf(stderr, "dorset-gateway: %s\n", std::string(openapi.status().message()).c_str());
    return 1;
  }
  options.openapi_json = *std::move(openapi);
  absl::StatusOr<std::unique_ptr<GatewayServer>> server = GatewayServer::Start(std::move(options));
  if (!server.ok()) {
    std::fprintf(stderr, "dorset-gateway: %s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  std::fprintf(stderr,
               "{\"msg\":\"dorset-gateway listening\",\"port\":%d,\"tls\":%s,\"operations\":%zu}\n",
               (*server)->port(), (*server)->tls() ? "true" : "false", routes->routes().size());
  int signal = 0;
  sigwait(&stop, &signal);
  (*server)->Stop();
  return 0;
}
