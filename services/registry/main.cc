// dorset-registry: the registry gRPC server. Configuration: --help.
#include "runtime/server/service_host.h"
#include "services/registry/registry_module.h"

int main(int argc, char** argv) {
  return dorset::runtime::RunServerMain(
      argc, argv, {"registry", "127.0.0.1:50051", "127.0.0.1:8081"},
      [] { return std::make_unique<dorset::registry::RegistryModule>(); });
}
