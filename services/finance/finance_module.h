// The finance service's part of a ServiceHost: its store (opened, migrated and seeded once),
// the group committer that writes postings, the registry client for populations, and the
// gRPC service. A PostgreSQL store that is away at start does not stop the start: the service
// is NOT_SERVING (CheckStore) until the database answers, and the seed loads then.
#ifndef DORSET_SERVICES_FINANCE_FINANCE_MODULE_H_
#define DORSET_SERVICES_FINANCE_FINANCE_MODULE_H_

#include <atomic>
#include <memory>

#include "absl/synchronization/mutex.h"
#include "runtime/server/service_host.h"
#include "services/finance/storage/posting_committer.h"

namespace dorset::registry {
class RegistryClient;
}

namespace dorset::finance {

class FinanceServiceImpl;
class FinanceStore;
class MonthClose;

class FinanceModule final : public runtime::ServiceModule {
 public:
  FinanceModule();
  ~FinanceModule() override;
  absl::Status Init(const runtime::ServiceEnv& env) override;
  std::vector<grpc::Service*> Services() override;
  std::vector<std::string> HealthNames() override;
  absl::Status CheckStore() override;
  // The registry when it cannot be reached (per-head figures then use stale copies or fail).
  std::vector<std::string> DependenciesDown() override;

  FinanceStore& store() { return *store_; }
  PostingCommitter& committer() { return *committer_; }
  MonthClose& month_close() { return *month_close_; }

 private:
  // Loads the seed once; UNAVAILABLE while the database is away.
  absl::Status EnsureSeeded();

  absl::Mutex seed_mu_;  // one seeding attempt at a time
  std::atomic<bool> seeded_{false};
  // Destroyed in reverse: service, committer (drains the queue), client, outbox, store (its
  // follower of other replicas' writes first).
  std::unique_ptr<FinanceStore> store_;
  // After the committer (its last groups write to it), before the store (its rows are moved).
  std::unique_ptr<runtime::AuditOutbox> outbox_;
  std::unique_ptr<MonthClose> month_close_;
  std::unique_ptr<registry::RegistryClient> registry_;
  std::unique_ptr<PostingCommitter> committer_;
  std::unique_ptr<FinanceServiceImpl> service_;
};

}  // namespace dorset::finance

#endif  // DORSET_SERVICES_FINANCE_FINANCE_MODULE_H_
