// dorsetctl health: checks every service the way Kubernetes does (gRPC health for the
// overall "" name and the service's own name) and the HTTP /readyz the ops team watches.
// Exits 0 only when all are ready.
//
//   dorsetctl health [--registry=127.0.0.1:50051] [--registry_ops=127.0.0.1:8081] ...
#include <httplib.h>

#include <iostream>

#include "absl/strings/str_cat.h"
#include "cli/cli_common.h"
#include "cli/command_groups.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "runtime/config/config.h"

namespace dorset::cli {
namespace {

struct Target {
  std::string name;
  std::string health_name;
  std::string grpc;
  std::string ops;
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
  const std::vector<Target> targets = {
      {"registry", "dorset.registry.v1.RegistryService", "127.0.0.1:50051", "127.0.0.1:8081"},
      {"finance", "dorset.finance.v1.FinanceService", "127.0.0.1:50052", "127.0.0.1:8082"},
      {"engagement", "dorset.engagement.v1.EngagementService", "127.0.0.1:50053", "127.0.0.1:8083"},
  };
  bool all_ready = true;
  for (const Target& t : targets) {
    const std::string grpc_target = args.GetOr(t.name, t.grpc);
    const std::string ops = args.GetOr(t.name + "_ops", t.ops);
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
