// ServiceHost runs one service process: it owns the configuration, cache, metrics, call gate,
// the gRPC server (callback API, health, reflection, call observation, TLS, keepalive and size
// limits) and the HTTP ops server, and shuts them down in order. A service plugs in as a
// ServiceModule; tests start hosts in-process on port 0 exactly as the binaries do.
//
//   ASSIGN_OR_RETURN(auto host, ServiceHost::Start(config, std::make_unique<RegistryModule>()));
//   ... host->grpc_port() ...
//   host->Shutdown();
#ifndef DORSET_RUNTIME_SERVER_SERVICE_HOST_H_
#define DORSET_RUNTIME_SERVER_SERVICE_HOST_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "grpcpp/grpcpp.h"
#include "runtime/cache/cache.h"
#include "runtime/config/config.h"
#include "runtime/server/call_gate.h"
#include "runtime/server/ops_http_server.h"

namespace prometheus {
class Counter;
class Gauge;
class Registry;
}  // namespace prometheus

namespace dorset::runtime {

class AuditLog;
class AuditServiceImpl;
class CallObserver;
class HealthService;
class UnknownMethods;

// What the host hands a service when it starts.
struct ServiceEnv {
  const ServerConfig& config;
  Cache& cache;
  prometheus::Registry& metrics;
  CallGate& gate;
  // The host's audit trail, for a service's own writes made outside any call (e.g. a timer's).
  AuditLog* audit = nullptr;
};

// A service's part of the process.
class ServiceModule {
 public:
  virtual ~ServiceModule() = default;
  // Opens and migrates the store and builds the gRPC service objects. Runs before listening.
  virtual absl::Status Init(const ServiceEnv& env) = 0;
  // The gRPC services to register; owned by the module, alive until it is destroyed.
  virtual std::vector<grpc::Service*> Services() = 0;
  // Health names that report readiness (e.g. "dorset.registry.v1.RegistryService").
  virtual std::vector<std::string> HealthNames() = 0;
  // OK when the store answers; polled for readiness.
  virtual absl::Status CheckStore() { return absl::OkStatus(); }
  // Readiness is gone and the server is about to stop: end long-lived streams here so
  // Shutdown() does not wait the whole grace period for them.
  virtual void OnShutdown() {}
  // The services this one calls that cannot be reached now, one short line each (e.g.
  // "registry unreachable (TRANSIENT_FAILURE)"). Polled for readiness: a dependency down
  // degrades the service (said on /readyz) but never makes it unready.
  virtual std::vector<std::string> DependenciesDown() { return {}; }
};

class ServiceHost {
 public:
  static absl::StatusOr<std::unique_ptr<ServiceHost>> Start(ServerConfig config,
                                                            std::unique_ptr<ServiceModule> module);
  ~ServiceHost();

  int grpc_port() const { return grpc_port_; }
  int ops_port() const { return ops_->port(); }
  const ServerConfig& config() const { return config_; }
  ServiceModule& module() { return *module_; }
  Cache& cache() { return *cache_; }
  AuditLog& audit() { return *audit_; }

  // The readiness the host reports now (store, audit trail, storage faults, cache, shutdown).
  Readiness CurrentReadiness();
  // Re-evaluates readiness and pushes it into grpc.health.v1 at once (normally every second).
  void RefreshHealth();

  // Graceful stop: readiness NOT_SERVING, drain, module->OnShutdown(), Shutdown(deadline).
  // Idempotent and thread-safe.
  void Shutdown();

 private:
  explicit ServiceHost(ServerConfig config, std::unique_ptr<ServiceModule> module);
  absl::Status StartServing();

  ServerConfig config_;
  std::unique_ptr<ServiceModule> module_;
  std::shared_ptr<prometheus::Registry> metrics_;
  std::unique_ptr<Cache> cache_;
  std::unique_ptr<CallGate> gate_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<AuditServiceImpl> audit_service_;
  std::unique_ptr<HealthService> health_;
  std::unique_ptr<CallObserver> observer_;  // outlives the server: its calls observe through it
  std::unique_ptr<UnknownMethods> unknown_methods_;
  prometheus::Counter* storage_faults_ = nullptr;  // mirrors sqlite::StorageFaultCount()
  prometheus::Gauge* store_writable_ = nullptr;
  // Mirror sqlite::ProcessCheckpointCounts() (wal_checkpointer.h).
  prometheus::Counter* checkpoints_background_ = nullptr;
  prometheus::Counter* checkpoints_writer_ = nullptr;
  prometheus::Counter* checkpoints_finish_ = nullptr;
  prometheus::Counter* checkpoint_frames_ = nullptr;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<OpsHttpServer> ops_;
  int grpc_port_ = 0;

  std::atomic<bool> shutting_down_{false};
  absl::Notification stop_health_loop_;
  std::thread health_loop_;
  absl::Mutex shutdown_mu_;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
  absl::Mutex health_mu_;
  bool last_serving_ ABSL_GUARDED_BY(health_mu_) = false;
};

// main() for a server binary: blocks SIGTERM/SIGINT, loads the configuration (exit 2 with
// the message naming the setting when it is wrong), starts the host, waits for a signal,
// shuts down gracefully and returns 0.
int RunServerMain(int argc, char** argv, const ServerDefaults& defaults,
                  std::function<std::unique_ptr<ServiceModule>()> make_module);

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_SERVER_SERVICE_HOST_H_
