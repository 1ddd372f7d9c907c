#include "services/registry/storage/list_memo.h"

namespace dorset::registry {

std::optional<int64_t> ListMemo::Count(const std::string& key, int64_t version) const {
  absl::MutexLock lock(&mu_);
  auto it = counts_.find(key);
  if (it == counts_.end() || it->second.version != version) return std::nullopt;
  return it->second.count;
}

void ListMemo::KeepCount(const std::string& key, int64_t version, int64_t count) {
  absl::MutexLock lock(&mu_);
  if (version < newest_) return;
  if (version > newest_) {
    counts_.clear();  // counts of older versions can never be read again by a new snapshot
    newest_ = version;
  }
  if (counts_.size() >= kMaxCounts) counts_.clear();
  counts_[key] = Counted{version, count};
}

std::optional<bool> ListMemo::Sorts(const std::string& sql) const {
  absl::MutexLock lock(&mu_);
  auto it = sorts_.find(sql);
  if (it == sorts_.end()) return std::nullopt;
  return it->second;
}

void ListMemo::KeepSorts(const std::string& sql, bool sorts) {
  absl::MutexLock lock(&mu_);
  if (sorts_.size() >= kMaxPlans) sorts_.clear();
  sorts_[sql] = sorts;
}

}  // namespace dorset::registry
