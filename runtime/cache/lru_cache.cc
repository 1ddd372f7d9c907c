#include "runtime/cache/lru_cache.h"

#include "runtime/base/string_view.h"

namespace dorset::runtime {

LruCache::LruCache(size_t max_entries, Clock clock)
    : max_entries_(max_entries == 0 ? 1 : max_entries), clock_(std::move(clock)) {}

std::optional<std::string> LruCache::Get(std::string_view key) {
  std::optional<Timed> timed = GetWithTime(key);
  if (!timed.has_value()) return std::nullopt;
  return std::move(timed->value);
}

std::optional<LruCache::Timed> LruCache::GetWithTime(std::string_view key) {
  absl::MutexLock lock(&mu_);
  auto it = index_.find(ToAbsl(key));
  if (it == index_.end()) return std::nullopt;
  if (it->second->expires <= clock_()) {
    entries_.erase(it->second);
    index_.erase(it);
    return std::nullopt;
  }
  entries_.splice(entries_.begin(), entries_, it->second);
  return Timed{it->second->value, it->second->stored};
}

void LruCache::Set(std::string_view key, std::string_view value, absl::Duration ttl) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_();
  const absl::Time expires = now + ttl;
  if (auto it = index_.find(ToAbsl(key)); it != index_.end()) {
    it->second->value.assign(value);
    it->second->stored = now;
    it->second->expires = expires;
    entries_.splice(entries_.begin(), entries_, it->second);
    return;
  }
  entries_.push_front(Entry{std::string(key), std::string(value), now, expires});
  index_.emplace(entries_.front().key, entries_.begin());
  while (entries_.size() > max_entries_) {
    index_.erase(entries_.back().key);
    entries_.pop_back();
  }
}

bool LruCache::Delete(const std::vector<std::string>& keys) {
  absl::MutexLock lock(&mu_);
  for (const std::string& key : keys) {
    if (auto it = index_.find(ToAbsl(key)); it != index_.end()) {
      entries_.erase(it->second);
      index_.erase(it);
    }
  }
  return true;
}

size_t LruCache::size() {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

}  // namespace dorset::runtime
