// The engagement service's part of a ServiceHost: its store, its gRPC service objects, its health.
#ifndef DORSET_SERVICES_ENGAGEMENT_ENGAGEMENT_MODULE_H_
#define DORSET_SERVICES_ENGAGEMENT_ENGAGEMENT_MODULE_H_

#include <memory>

#include "runtime/server/service_host.h"
#include "services/engagement/domain/engagement.h"

namespace dorset::engagement {

class EngagementServiceImpl;
class ResponseWriter;

class EngagementModule final : public runtime::ServiceModule {
 public:
  explicit EngagementModule(EngagementOptions options = {});
  ~EngagementModule() override;
  absl::Status Init(const runtime::ServiceEnv& env) override;
  std::vector<grpc::Service*> Services() override;
  std::vector<std::string> HealthNames() override;
  absl::Status CheckStore() override;
  void OnShutdown() override;
  std::vector<std::string> DependenciesDown() override;

 private:
  EngagementOptions options_;
  // Destroyed bottom-up: service, writer (drains), logic, registry, store.
  std::unique_ptr<EngagementStore> store_;
  std::unique_ptr<RegistryLookup> registry_;
  std::unique_ptr<Engagement> engagement_;
  std::unique_ptr<ResponseWriter> writer_;
  std::unique_ptr<EngagementServiceImpl> service_;
};

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_ENGAGEMENT_MODULE_H_
