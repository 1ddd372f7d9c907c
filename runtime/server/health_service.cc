#include "runtime/server/health_service.h"

#include <optional>

#include "runtime/server/stream_writer.h"
#include "runtime/server/streaming.h"
#include "runtime/server/unary.h"
#include "runtime/status/errors.h"

namespace dorset::runtime {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// Sends the current status, then each change of it. The service calls Update() under its own
// mutex; the reactor never calls the service while holding its own (only from OnClosed).
class HealthService::WatchReactor final : public StreamWriter<HealthCheckResponse> {
 public:
  WatchReactor(HealthService& service, const std::string& name) : service_(service) {
    service_.AddWatcher(this, name);  // sends the current status
  }

  // Queues `status` (only the latest unsent one matters); `last` ends the stream after it.
  void Update(ServingStatus status, bool last) {
    {
      absl::MutexLock lock(&mu_);
      pending_ = status;
      closing_ = closing_ || last;
    }
    Resume();
  }

 private:
  void ProduceLocked() override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (pending_.has_value() && pending_ != sent_) {
      sent_ = pending_;
      pending_.reset();
      response_.set_status(*sent_);
      WriteLocked(&response_);
      return;
    }
    pending_.reset();
    if (closing_) {
      EndLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is shutting down"));
    }
  }

  void OnClosed() override { service_.RemoveWatcher(this); }

  HealthService& service_;
  std::optional<ServingStatus> pending_ ABSL_GUARDED_BY(mu_);
  std::optional<ServingStatus> sent_ ABSL_GUARDED_BY(mu_);
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  HealthCheckResponse response_;  // written only by ProduceLocked, one write at a time
};

HealthService::~HealthService() { Shutdown(); }

HealthService::ServingStatus HealthService::StatusLocked(const std::string& name) const {
  auto it = serving_.find(name);
  if (it == serving_.end()) return HealthCheckResponse::SERVICE_UNKNOWN;
  if (shut_down_) return HealthCheckResponse::NOT_SERVING;
  return it->second ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING;
}

void HealthService::SetServingStatus(const std::string& name, bool serving) {
  absl::MutexLock lock(&mu_);
  if (shut_down_) return;  // as gRPC's own: after Shutdown() everything stays NOT_SERVING
  serving_[name] = serving;
  for (auto& [watcher, watched] : watchers_) {
    if (watched == name) watcher->Update(StatusLocked(name), false);
  }
}

void HealthService::Shutdown() {
  absl::MutexLock lock(&mu_);
  if (shut_down_) return;
  shut_down_ = true;
  for (auto& [watcher, watched] : watchers_) watcher->Update(StatusLocked(watched), true);
}

void HealthService::AddWatcher(WatchReactor* watcher, const std::string& name) {
  absl::MutexLock lock(&mu_);
  watchers_[watcher] = name;
  // Under mu_, so no later change can overtake this first status.
  watcher->Update(StatusLocked(name), shut_down_);
}

void HealthService::RemoveWatcher(WatchReactor* watcher) {
  absl::MutexLock lock(&mu_);
  watchers_.erase(watcher);
}

grpc::ServerUnaryReactor* HealthService::Check(grpc::CallbackServerContext* context,
                                               const HealthCheckRequest* request,
                                               HealthCheckResponse* response) {
  return Unary(gate_, context, *request, response, [&]() -> absl::Status {
    absl::MutexLock lock(&mu_);
    const ServingStatus status = StatusLocked(request->service());
    if (status == HealthCheckResponse::SERVICE_UNKNOWN) {
      return absl::NotFoundError("unknown service");
    }
    response->set_status(status);
    return absl::OkStatus();
  });
}

grpc::ServerWriteReactor<HealthCheckResponse>* HealthService::Watch(
    grpc::CallbackServerContext* context, const HealthCheckRequest* request) {
  absl::StatusOr<Caller> caller = gate_.Admit(*context);
  if (!caller.ok()) return RefusedStream<HealthCheckResponse>::Create(caller.status());
  return new WatchReactor(*this, request->service());
}

}  // namespace dorset::runtime
