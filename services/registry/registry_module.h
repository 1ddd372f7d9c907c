// The registry service's part of a ServiceHost: its store, caches, change hub, gRPC service
// and health.
#ifndef DORSET_SERVICES_REGISTRY_REGISTRY_MODULE_H_
#define DORSET_SERVICES_REGISTRY_REGISTRY_MODULE_H_

#include <memory>

#include "runtime/server/service_host.h"

namespace dorset::registry {

class ChangeFollower;
class ChangeHub;
class RegistryCache;
class RegistryServiceImpl;
class Store;

class RegistryModule final : public runtime::ServiceModule {
 public:
  RegistryModule();
  ~RegistryModule() override;
  absl::Status Init(const runtime::ServiceEnv& env) override;
  std::vector<grpc::Service*> Services() override;
  std::vector<std::string> HealthNames() override;
  absl::Status CheckStore() override;
  // The open store (null before Init): tests read where it is.
  Store* store() { return store_.get(); }
  void OnShutdown() override;

  // For tests: the number of open WatchChanges streams.
  int watcher_count();
  // For tests: the change follower (null on SQLite).
  ChangeFollower* follower() { return follower_.get(); }

 private:
  std::unique_ptr<Store> store_;
  std::unique_ptr<RegistryCache> cache_;
  std::unique_ptr<ChangeHub> hub_;
  std::unique_ptr<RegistryServiceImpl> service_;
  // Last, so it stops first: it uses the store, caches and hub (PostgreSQL only).
  std::unique_ptr<ChangeFollower> follower_;
};

}  // namespace dorset::registry

#endif  // DORSET_SERVICES_REGISTRY_REGISTRY_MODULE_H_
