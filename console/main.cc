// dorset-console: the web console in the NHS.UK design system (docs/console.md). Settings: --help.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "console/console_config.h"
#include "console/console_server.h"
#include "grpcpp/security/credentials.h"

#ifndef DORSET_CONSOLE_DEFAULT_ASSETS
#define DORSET_CONSOLE_DEFAULT_ASSETS ""
#endif

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace dorset::console;
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--help") {
      std::fputs(ConsoleUsage().c_str(), stdout);
      return 0;
    }
  }
  absl::StatusOr<ConsoleConfig> config = LoadConsoleConfig(argc, argv);
  if (!config.ok()) {
    std::fprintf(stderr, "dorset-console: %s\n%s", std::string(config.status().message()).c_str(),
                 ConsoleUsage().c_str());
    return 2;
  }
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
  std::string token;
  if (!config->service_token_file.empty()) {
    token = ReadFile(config->service_token_file);
    absl::StripAsciiWhitespace(&token);
  }
  auto context = std::make_unique<ConsoleContext>();
  dorset::registry::RegistryClientOptions registry;
  registry.target = config->registry_target;
  registry.credentials = credentials;
  registry.bearer_token = token;
  absl::StatusOr<std::unique_ptr<dorset::registry::RegistryClient>> registry_client =
      dorset::registry::RegistryClient::Create(registry);
  if (!registry_client.ok()) {
    std::fprintf(stderr, "dorset-console: %s\n",
                 std::string(registry_client.status().message()).c_str());
    return 2;
  }
  context->registry = *std::move(registry_client);
  dorset::runtime::ServiceClientOptions service;
  service.credentials = credentials;
  service.bearer_token = token;
  service.deadline = absl::Seconds(10);
  service.target = config->finance_target;
  context->finance = dorset::finance::FinanceClient::Create(service);
  service.target = config->engagement_target;
  context->engagement = dorset::engagement::EngagementClient::Create(service);
  std::string csrf_key;
  if (!config->csrf_key_file.empty()) csrf_key = ReadFile(config->csrf_key_file);
  context->csrf = std::make_unique<CsrfGuard>(csrf_key, !config->tls_cert.empty());
  context->respond_limit =
      std::make_unique<RateLimiter>(config->respond_per_minute, config->respond_burst);
  context->login_limit = std::make_unique<RateLimiter>(/*per_minute=*/10, /*burst=*/10);
  context->sessions = std::make_unique<SessionStore>();
  context->registry_ops = config->registry_ops;
  context->finance_ops = config->finance_ops;
  context->engagement_ops = config->engagement_ops;

  ConsoleOptions options;
  options.listen = config->http_listen;
  options.tls_cert = config->tls_cert;
  options.tls_key = config->tls_key;
  options.assets_dir =
      config->assets_dir.empty() ? DORSET_CONSOLE_DEFAULT_ASSETS : config->assets_dir;
  options.threads = config->threads;
  absl::StatusOr<std::unique_ptr<ConsoleServer>> server =
      ConsoleServer::Start(std::move(options), std::move(context));
  if (!server.ok()) {
    std::fprintf(stderr, "dorset-console: %s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  std::fprintf(stderr, "{\"msg\":\"dorset-console listening\",\"port\":%d,\"tls\":%s}\n",
               (*server)->port(), config->tls_cert.empty() ? "false" : "true");
  int signal = 0;
  sigwait(&stop, &signal);
  (*server)->Stop();
  return 0;
}
