// dorset-engagement: the engagement gRPC server. Configuration: --help.
#include "runtime/server/service_host.h"
#include "services/engagement/engagement_module.h"

int main(int argc, char** argv) {
  return dorset::runtime::RunServerMain(
      argc, argv, {"engagement", "127.0.0.1:50053", "127.0.0.1:8083"},
      [] { return std::make_unique<dorset::engagement::EngagementModule>(); });
}
