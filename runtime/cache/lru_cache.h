// An in-process, bounded, thread-safe LRU cache with per-entry TTL. GetWithTime() also says
// when an entry was stored, for callers that serve a copy differently by its age (the registry
// client: fresh, stale-and-marked, or too old; docs/cache-keys.md).
#ifndef DORSET_RUNTIME_CACHE_LRU_CACHE_H_
#define DORSET_RUNTIME_CACHE_LRU_CACHE_H_

#include <functional>
#include <list>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "runtime/cache/cache.h"

namespace dorset::runtime {

class LruCache final : public Cache {
 public:
  using Clock = std::function<absl::Time()>;
  explicit LruCache(size_t max_entries, Clock clock = absl::Now);

  std::optional<std::string> Get(std::string_view key) override;
  void Set(std::string_view key, std::string_view value, absl::Duration ttl) override;
  bool Delete(const std::vector<std::string>& keys) override;
  void Publish(std::string_view channel, std::string_view message) override {}
  bool Publishes() const override { return false; }
  CacheHealth Health() override { return {true, false, "memory", ""}; }

  // The value and when it was stored (Set), or nullopt on a miss or when expired.
  struct Timed {
    std::string value;
    absl::Time stored;
  };
  std::optional<Timed> GetWithTime(std::string_view key);

  size_t size();

 private:
  struct Entry {
    std::string key;
    std::string value;
    absl::Time stored;
    absl::Time expires;
  };
  using List = std::list<Entry>;

  const size_t max_entries_;
  const Clock clock_;
  absl::Mutex mu_;
  List entries_ ABSL_GUARDED_BY(mu_);  // most recently used first
  absl::flat_hash_map<std::string, List::iterator> index_ ABSL_GUARDED_BY(mu_);
};

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_CACHE_LRU_CACHE_H_
