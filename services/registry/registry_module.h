// The registry service's part of a ServiceHost: its store, its gRPC service objects, its health.
#ifndef DORSET_SERVICES_REGISTRY_REGISTRY_MODULE_H_
#define DORSET_SERVICES_REGISTRY_REGISTRY_MODULE_H_

#include <memory>

#include "runtime/server/service_host.h"

namespace dorset::registry {

class RegistryServiceImpl;

class RegistryModule final : public runtime::ServiceModule {
 public:
  RegistryModule();
  ~RegistryModule() override;
  absl::Status Init(const runtime::ServiceEnv& env) override;
  std::vector<grpc::Service*> Services() override;
  std::vector<std::string> HealthNames() override;

 private:
  std::unique_ptr<RegistryServiceImpl> service_;
};

}  // namespace dorset::registry

#endif  // DORSET_SERVICES_REGISTRY_REGISTRY_MODULE_H_
