// The engagement service's part of a ServiceHost: its store, its gRPC service objects, its health.
#ifndef DORSET_SERVICES_ENGAGEMENT_ENGAGEMENT_MODULE_H_
#define DORSET_SERVICES_ENGAGEMENT_ENGAGEMENT_MODULE_H_

#include <memory>

#include "runtime/server/service_host.h"

namespace dorset::engagement {

class EngagementServiceImpl;

class EngagementModule final : public runtime::ServiceModule {
 public:
  EngagementModule();
  ~EngagementModule() override;
  absl::Status Init(const runtime::ServiceEnv& env) override;
  std::vector<grpc::Service*> Services() override;
  std::vector<std::string> HealthNames() override;

 private:
  std::unique_ptr<EngagementServiceImpl> service_;
};

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_ENGAGEMENT_MODULE_H_
