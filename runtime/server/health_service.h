// grpc.health.v1.Health behind the CallGate. gRPC's built-in health service answers everyone;
// ours asks the gate first, so `--open_health=false` really requires credentials (with
// `--open_health=true`, the default, the gate lets health calls through anonymously, as
// Kubernetes probes need). Same semantics as gRPC's service otherwise: "" is liveness, unknown
// names are NOT_FOUND (Check) or SERVICE_UNKNOWN (Watch), Shutdown() turns everything
// NOT_SERVING for good and ends the Watch streams.
#ifndef DORSET_RUNTIME_SERVER_HEALTH_SERVICE_H_
#define DORSET_RUNTIME_SERVER_HEALTH_SERVICE_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "runtime/server/call_gate.h"

namespace dorset::runtime {

class HealthService final : public grpc::health::v1::Health::CallbackService {
 public:
  using ServingStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;

  explicit HealthService(CallGate& gate) : gate_(gate) {}
  ~HealthService() override;

  void SetServingStatus(const std::string& name, bool serving) ABSL_LOCKS_EXCLUDED(mu_);
  // NOT_SERVING for every name from now on; ends the Watch streams. Idempotent.
  void Shutdown() ABSL_LOCKS_EXCLUDED(mu_);

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const grpc::health::v1::HealthCheckRequest* request,
                                  grpc::health::v1::HealthCheckResponse* response) override;
  grpc::ServerWriteReactor<grpc::health::v1::HealthCheckResponse>* Watch(
      grpc::CallbackServerContext* context,
      const grpc::health::v1::HealthCheckRequest* request) override;

 private:
  class WatchReactor;
  // Registers a watcher and queues the current status of its name for it.
  void AddWatcher(WatchReactor* watcher, const std::string& name) ABSL_LOCKS_EXCLUDED(mu_);
  void RemoveWatcher(WatchReactor* watcher) ABSL_LOCKS_EXCLUDED(mu_);
  ServingStatus StatusLocked(const std::string& name) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  CallGate& gate_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, bool> serving_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<WatchReactor*, std::string> watchers_ ABSL_GUARDED_BY(mu_);
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_SERVER_HEALTH_SERVICE_H_
