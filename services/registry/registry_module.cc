#include "services/registry/registry_module.h"

#include "dorset/registry/v1/registry.grpc.pb.h"
#include "runtime/server/unary.h"

namespace dorset::registry {

class RegistryServiceImpl final : public dorset::registry::v1::RegistryService::CallbackService {
 public:
  explicit RegistryServiceImpl(runtime::CallGate& gate) : gate_(gate) {}

 private:
  runtime::CallGate& gate_;
};

RegistryModule::RegistryModule() = default;
RegistryModule::~RegistryModule() = default;

absl::Status RegistryModule::Init(const runtime::ServiceEnv& env) {
  service_ = std::make_unique<RegistryServiceImpl>(env.gate);
  return absl::OkStatus();
}

std::vector<grpc::Service*> RegistryModule::Services() { return {service_.get()}; }

std::vector<std::string> RegistryModule::HealthNames() {
  return {std::string(v1::RegistryService::service_full_name())};
}

}  // namespace dorset::registry
