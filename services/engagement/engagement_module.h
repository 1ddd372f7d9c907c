// The engagement service's part of a ServiceHost: its store, its gRPC service objects, its health.
#ifndef DORSET_SERVICES_ENGAGEMENT_ENGAGEMENT_MODULE_H_
#define DORSET_SERVICES_ENGAGEMENT_ENGAGEMENT_MODULE_H_

#include <atomic>
#include <memory>

#include "absl/synchronization/mutex.h"
#include "runtime/audit/audit_outbox.h"
#include "runtime/server/service_host.h"
#include "services/engagement/domain/engagement.h"
#include "services/engagement/domain/retention.h"
#include "services/engagement/domain/retention_timer.h"

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

  // The retention timer once Init has started it, else null (tests wait for its first round).
  const RetentionTimer* retention_timer() const { return retention_timer_.get(); }

 private:
  // The seed consultation, written once the store answers (at Init, or at the first
  // CheckStore after a database that was away at start comes back).
  absl::Status EnsureSeeded();

  EngagementOptions options_;
  absl::Mutex seed_mu_;
  std::atomic<bool> seeded_{false};
  // Destroyed bottom-up: timer (stops), service, writer (drains), logic, registry, outbox
  // (moves its rows into the trail), store (its follower first).
  std::unique_ptr<EngagementStore> store_;
  std::unique_ptr<runtime::AuditOutbox> outbox_;
  std::unique_ptr<RegistryLookup> registry_;
  std::unique_ptr<Engagement> engagement_;
  std::unique_ptr<ResponseWriter> writer_;
  std::unique_ptr<EngagementServiceImpl> service_;
  // The retention job on its timer (only when a retention period is set).
  std::unique_ptr<Retention> retention_;
  std::unique_ptr<RetentionTimer> retention_timer_;
};

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_ENGAGEMENT_MODULE_H_
