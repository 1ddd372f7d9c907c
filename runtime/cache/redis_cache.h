// The shared Redis cache: hiredis behind a small connection pool, with connect and command
// timeouts, reconnection, a circuit breaker and fail-open behaviour (see cache.h).
//
// A redisContext is not thread-safe, so each pooled connection is used by one thread at a time.
#ifndef DORSET_RUNTIME_CACHE_REDIS_CACHE_H_
#define DORSET_RUNTIME_CACHE_REDIS_CACHE_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "runtime/cache/cache.h"
#include "runtime/cache/circuit_breaker.h"

struct redisContext;
namespace prometheus {
class Registry;
template <typename T>
class Family;
class Counter;
class Gauge;
}  // namespace prometheus

namespace dorset::runtime {

struct RedisOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  // Sent as AUTH [username] password after each connect when `password` is set (Redis 6+ ACL
  // users; an empty username authenticates the default user). Never logged.
  std::string username;
  std::string password;
  int pool_size = 4;
  absl::Duration connect_timeout = absl::Milliseconds(200);
  absl::Duration command_timeout = absl::Milliseconds(200);
  int breaker_failures = 3;
  absl::Duration breaker_open_for = absl::Seconds(2);
};

class RedisCache final : public Cache {
 public:
  // `metrics` may be null (no metrics exported).
  RedisCache(RedisOptions options, prometheus::Registry* metrics);
  ~RedisCache() override;

  std::optional<std::string> Get(std::string_view key) override;
  void Set(std::string_view key, std::string_view value, absl::Duration ttl) override;
  bool Delete(const std::vector<std::string>& keys) override;
  void Publish(std::string_view channel, std::string_view message) override;
  std::optional<Admission> AdmitInWindow(std::string_view key, int64_t limit,
                                         absl::Duration window) override;
  CacheHealth Health() override;
  bool Reachable() override;

 private:
  struct Connection;
  class Lease;
  struct Metrics;

  // Runs one command on a pooled connection; nullptr result means a fault (already counted).
  template <typename Fn>
  bool WithConnection(std::string_view op, Fn&& fn);
  std::unique_ptr<Connection> Acquire();
  void Release(std::unique_ptr<Connection> connection);
  void RecordFault(std::string_view op, std::string_view detail);

  const RedisOptions options_;
  CircuitBreaker breaker_;
  std::unique_ptr<Metrics> metrics_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_ ABSL_GUARDED_BY(mu_);
  int created_ ABSL_GUARDED_BY(mu_) = 0;
  std::string last_error_ ABSL_GUARDED_BY(mu_);
  bool last_ok_ ABSL_GUARDED_BY(mu_) = true;
  std::atomic<bool> count_refused_{false};  // the ACL refused AdmitInWindow: never asked again
};

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_CACHE_REDIS_CACHE_H_
