// What ListPractices has already worked out about the store, kept per process so that the next
// page or the next caller does not work it out again (issue 16):
// - total_size per query: an exact count, valid for exactly one version of the data (the change
//   feed's last sequence read in the same snapshot). Every write to a practice, locality or
//   cluster appends to the feed (store.cc, "Change sequences"), so a count kept for version V is
//   the count of any snapshot that reads V; a newer version makes every kept count useless.
// - whether SQLite walks a page's SQL in its ORDER BY (no temporary sort): a property of the SQL
//   text and the schema, not of the data.
// Both are bounded (cleared when full): the memo is a shortcut, never the only copy of anything.
#ifndef DORSET_SERVICES_REGISTRY_STORAGE_LIST_MEMO_H_
#define DORSET_SERVICES_REGISTRY_STORAGE_LIST_MEMO_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace dorset::registry {

class ListMemo {
 public:
  static constexpr size_t kMaxCounts = 1024;
  static constexpr size_t kMaxPlans = 256;

  // The count kept for `key` at exactly `version`.
  std::optional<int64_t> Count(const std::string& key, int64_t version) const;
  // Keeps `count` for `key` at `version`; a version older than one already seen is not kept
  // (a reader on an older snapshot may finish after a newer one).
  void KeepCount(const std::string& key, int64_t version, int64_t count);

  std::optional<bool> Sorts(const std::string& sql) const;
  void KeepSorts(const std::string& sql, bool sorts);

 private:
  struct Counted {
    int64_t version = 0;
    int64_t count = 0;
  };
  mutable absl::Mutex mu_;
  int64_t newest_ ABSL_GUARDED_BY(mu_) = -1;
  absl::flat_hash_map<std::string, Counted> counts_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, bool> sorts_ ABSL_GUARDED_BY(mu_);
};

}  // namespace dorset::registry

#endif  // DORSET_SERVICES_REGISTRY_STORAGE_LIST_MEMO_H_
