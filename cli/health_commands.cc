// dorsetctl health: checks every service the way Kubernetes does (gRPC health for the
// overall "" name and the service's own name) and the HTTP /readyz the ops team watches.
// Exits 0 only when all are ready.
//
//   dorsetctl health [--registry=127.0.0.1:50051] [--registry_ops=127.0.0.1:8081] ...
#include <httplib.h>

#include <iostream>

#include "absl/strings/str_cat.h"
#include "cli/cli_common.h"
#include "cli/client_settings.h"
#include "cli/command_groups.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "runtime/config/config.h"

namespace dorset::cli {
namespace {

struct Target {
  std::string name;
  std::string health_name;
};

std::string GrpcHealth(const Connection& connection, const std::string& name) {
  auto stub = grpc::health::v1::Health::NewStub(connection.channel);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(name);
  grpc::health::v1::HealthCheckResponse response;
  auto context = NewContext(connection, 3);
  const grpc::Status status = stub->Check(context.get(), request, &response);
  if (!status.ok()) return absl::StrCat("error ", status.error_message());
  return grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status());
}

std::pair<int, std::string> Readyz(const std::string& ops) {
  auto host_port = runtime::SplitHostPort(ops);
  if (!host_port.ok()) return {0, "bad address"};
  httplib::Client client(host_port->first, host_port->second);
  client.set_connection_timeout(2);
  client.set_read_timeout(3);
  auto result = client.Get("/readyz");
  if (!result) return {0, "unreachable"};
  std::string body = result->body;
  while (!body.empty() && body.back() == '\n') body.pop_back();
  return {result->status, body};
}

}  // namespace

int RunHealthCommand(int argc, char** argv) {
  Args args(argc, argv, 0);
  // Addresses are dorsetctl's settings (client_settings.h): --registry= / --registry_ops=,
  // DORSETCTL_REGISTRY / DORSETCTL_REGISTRY_OPS, the config file, then this machine.
  absl::StatusOr<ClientSettings> settings = ClientSettings::Load(args);
  if (!settings.ok()) {
    std::cerr << settings.status().message() << "\n";
    return 2;
  }
  const std::vector<Target> targets = {
      {"registry", "dorset.registry.v1.RegistryService"},
      {"finance", "dorset.finance.v1.FinanceService"},
      {"engagement", "dorset.engagement.v1.EngagementService"},
  };
  bool all_ready = true;
  for (const Target& t : targets) {
    const std::string grpc_target = settings->Target(t.name, /*own_group=*/false).value;
    const std::string ops = settings->Ops(t.name).value;
    absl::StatusOr<Connection> connection = ConnectTarget(args, grpc_target);
    if (!connection.ok()) {
      std::cerr << connection.status().message() << "\n";
      return 2;
    }
    const std::string live = GrpcHealth(*connection, "");
    const std::string ready = GrpcHealth(*connection, t.health_name);
    const auto [http_status, reason] = Readyz(ops);
    const bool ok = live == "SERVING" && ready == "SERVING" && http_status == 200;
    all_ready = all_ready && ok;
    std::cout << (ok ? "READY     " : "NOT READY ") << t.name << "  grpc " << grpc_target
              << " liveness=" << live << " readiness=" << ready << "  ops " << ops
              << " /readyz=" << http_status << " (" << reason << ")\n";
  }
  return all_ready ? 0 : 1;
}

}  // namespace dorset::cli
