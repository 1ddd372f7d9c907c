// The shared cache seen by services: a small key/value interface with TTLs and a publish
// channel. Two implementations: RedisCache (shared between processes, the documented key
// schema in docs/cache-keys.md) and LruCache (in-process, when no Redis is configured).
//
// The cache is an optimisation, never a source of truth: every method is fail-open. A fault
// is logged and counted, Get() then reports a miss and writes are dropped; callers fall back
// to the store.
#ifndef DORSET_RUNTIME_CACHE_CACHE_H_
#define DORSET_RUNTIME_CACHE_CACHE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"

namespace dorset::runtime {

struct CacheHealth {
  bool ok = true;             // the backend answered recently
  bool breaker_open = false;  // calls are being skipped until the backend recovers
  std::string backend;        // "redis" or "memory"
  std::string detail;
};

class Cache {
 public:
  virtual ~Cache() = default;
  // The cached value, or nullopt on a miss or a fault.
  virtual std::optional<std::string> Get(std::string_view key) = 0;
  virtual void Set(std::string_view key, std::string_view value, absl::Duration ttl) = 0;
  // True when the backend confirmed the deletion; false on a fault (the keys may still be
  // there: a caller that must not leave them, like the registry invalidating after a change,
  // keeps them and tries again).
  virtual bool Delete(const std::vector<std::string>& keys) = 0;
  // Announces `message` on `channel` (Redis PUBLISH); a no-op in memory.
  virtual void Publish(std::string_view channel, std::string_view message) = 0;
  // False when Publish goes nowhere (in memory): a caller need not build the message.
  virtual bool Publishes() const { return true; }
  // A sliding-window rate limit shared by every process using the backend: admits the call
  // when fewer than `limit` calls were admitted under `key` in the last `window` (by the
  // backend's one clock), and records it. Exact at any instant - no fixed window whose edge lets
  // 2 x limit through - and one round trip (Redis: one Lua script over a sorted set of the
  // admitted calls' times). nullopt when there is no shared backend or it failed: the caller
  // falls back to a limit of its own.
  struct Admission {
    bool admitted = false;
    absl::Duration retry_after;  // refused: until the oldest admitted call leaves the window
  };
  virtual std::optional<Admission> AdmitInWindow(std::string_view key, int64_t limit,
                                                 absl::Duration window) {
    return std::nullopt;
  }
  virtual CacheHealth Health() = 0;
  // Cheap (no probe): false while the backend is known to be failing (the last operation
  // failed, or the breaker is open), so a miss from Get() may be a fault rather than an absent
  // key. Readers that keep their own copies use them only then (the registry client).
  virtual bool Reachable() { return true; }
};

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_CACHE_CACHE_H_
