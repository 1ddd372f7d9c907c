// dorset-finance: the finance gRPC server. Configuration: --help.
#include "runtime/server/service_host.h"
#include "services/finance/finance_module.h"

int main(int argc, char** argv) {
  return dorset::runtime::RunServerMain(
      argc, argv, {"finance", "127.0.0.1:50052", "127.0.0.1:8082"},
      [] { return std::make_unique<dorset::finance::FinanceModule>(); });
}
