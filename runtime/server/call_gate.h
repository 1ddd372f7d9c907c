// The gate every RPC passes before its handler runs: who is calling (bearer token, client
// certificate, or the development "anonymous" when auth=none), whether the method's
// permission (auth/permissions.h) is granted, and the per-principal rate limit (each principal
// its own bucket; the principals in principal_rate_limits with their own rate and burst).
// With a shared cache (ShareRateLimits: Redis, several replicas of a service) the limit holds
// across the replicas: each principal may make `per_second` calls in any one second (a sliding
// window, exact at a second's boundary too, kept in Redis under
// dorset:v1:ratelimit:<service>:<principal digest> - a digest, so no principal's name is stored
// in Redis); while Redis cannot be reached each replica falls back to its own bucket.
#ifndef DORSET_RUNTIME_SERVER_CALL_GATE_H_
#define DORSET_RUNTIME_SERVER_CALL_GATE_H_

#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "runtime/auth/caller.h"
#include "runtime/auth/token_store.h"
#include "runtime/cache/cache.h"
#include "runtime/config/config.h"

namespace grpc {
class ServerContextBase;
}

namespace dorset::runtime {

class CallGate {
 public:
  // `tokens` may be null when the configuration has no tokens file.
  CallGate(const ServerConfig& config, std::unique_ptr<TokenStore> tokens);

  // Counts the rate limit in `shared` (which outlives the gate), for all replicas of `service`.
  // Call before serving.
  void ShareRateLimits(Cache* shared, std::string service) {
    shared_ = shared;
    service_ = std::move(service);
  }

  // Returns the caller, or UNAUTHENTICATED / PERMISSION_DENIED / RESOURCE_EXHAUSTED.
  absl::StatusOr<Caller> Admit(const grpc::ServerContextBase& context);
  // The same for a call whose method needs `required` and that is not in the call registry
  // (unary_call.h: the permission was looked up once per method, not per call): `principal`
  // receives the caller's principal as soon as it is known.
  absl::StatusOr<Caller> Admit(const grpc::ServerContextBase& context, Permission required,
                               std::string* principal);

  // The same decision for a given method and metadata (used by tests and Admit).
  // `principal_out`, when given, receives the caller's principal as soon as it is known, so
  // refused calls of known callers are audited under their name.
  absl::StatusOr<Caller> Decide(const std::string& method, const std::string& authorization,
                                const std::string& certificate_name,
                                std::string* principal_out = nullptr);

 private:
  absl::StatusOr<Caller> DecideFor(Permission required, const std::string& authorization,
                                   const std::string& certificate_name, std::string* principal_out);
  absl::Status TakeRateToken(const std::string& principal);

  struct Bucket {
    double tokens;
    absl::Time refilled;
  };

  const AuthMode auth_mode_;
  const bool open_health_;
  const bool mutual_tls_;
  const RateLimit default_limit_;
  const std::map<std::string, RateLimit> own_limits_;  // by principal
  std::unique_ptr<TokenStore> tokens_;
  Cache* shared_ = nullptr;
  std::string service_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_SERVER_CALL_GATE_H_
