// The registry's two caches: an in-process map of practices already read (so a repeated
// GetPractice never touches SQLite or Redis), and the shared Redis cache other services read
// (docs/cache-keys.md). The registry is the only writer of its Redis keys: it fills them on
// reads and deletes them on every committed change, then PUBLISHes the change.
//
// Fill/invalidate race: a reader that loaded a value from the store before a write committed
// must not put it back after the write invalidated it. Every invalidation bumps a generation
// under the same mutex that guards fills; a fill carrying an older generation is dropped.
//
// Other replicas' changes (several registry processes over one PostgreSQL database): each
// replica deletes the keys of its own changes before acknowledging them, but another replica
// that read the store before that commit may put an old value back after the deletion. So every
// replica remembers the shared keys it filled, and when it learns of changes committed
// elsewhere (ChangeFollower, from the change table) it drops the changed practices from its
// map, bumps the generation (no older read can fill any more) and deletes again every key it
// filled since the previous sweep. A key this replica filled with an old value was filled
// after the previous sweep took the set (or that sweep deleted it), so it is deleted; an old
// value in another replica lasts at most until that replica's sweep (docs/cache-keys.md).
//
// Failed invalidation (Redis unreachable or hung when a change commits): the keys are kept as
// pending and deleted again — before any later fill, and by a background retry every 250 ms —
// until Redis confirms, so an old value outlives its change by at most the time Redis takes to
// come back plus the breaker's reopening (a few seconds), not the keys' TTL (docs/cache-keys.md).
#ifndef DORSET_SERVICES_REGISTRY_REGISTRY_CACHE_H_
#define DORSET_SERVICES_REGISTRY_REGISTRY_CACHE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "dorset/registry/v1/registry.pb.h"
#include "runtime/cache/cache.h"
#include "services/registry/storage/store.h"

namespace dorset::registry {

class RegistryCache {
 public:
  RegistryCache(runtime::Cache& shared, absl::Duration ttl, size_t max_local_entries = 50000);
  ~RegistryCache();

  // The practice from the in-process map, or null.
  std::shared_ptr<const v1::Practice> LocalPractice(const std::string& code);
  // Take before reading the store; pass to the Fill calls.
  uint64_t generation();
  // Stores a practice read from the store in both caches, unless a change came in between.
  void FillPractice(const v1::Practice& practice, uint64_t generation);
  // Stores `message` as JSON under `key` in the shared cache, unless a change came in between.
  void FillShared(const std::string& key, const google::protobuf::Message& message,
                  uint64_t generation);
  // After a commit: drops the changed practices and every derived value (localities,
  // clusters, summaries of the commissioners touched), then announces the changes.
  void Invalidate(const std::vector<CommittedChange>& changes,
                  const std::vector<std::string>& locality_ids,
                  const std::vector<std::string>& cluster_ids);
  // Changes another replica committed (or this one: harmless), seen in the change table: drops
  // `practice_codes` from the map and deletes every shared key this replica filled since the
  // last sweep (see above). `all` drops the whole map (too many changes to list).
  void SweepRemote(const std::vector<std::string>& practice_codes, bool all);
  // Keys whose deletion Redis has not confirmed yet.
  size_t pending_invalidations();

 private:
  // Deletes the pending keys; stops at the first failure (they stay pending).
  void FlushPendingLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(fill_mu_);

  runtime::Cache& shared_;
  const absl::Duration ttl_;
  const size_t max_local_entries_;
  // fill_mu_ orders fills against invalidations (and so covers Redis calls); local_mu_ only
  // guards the map, so in-process hits never wait behind a slow Redis.
  absl::Mutex fill_mu_ ABSL_ACQUIRED_BEFORE(local_mu_);
  std::atomic<uint64_t> generation_{0};  // written under fill_mu_
  absl::btree_set<std::string> pending_ ABSL_GUARDED_BY(fill_mu_);
  // Shared keys filled since the last SweepRemote (bounded by the number of distinct keys).
  absl::flat_hash_set<std::string> filled_ ABSL_GUARDED_BY(fill_mu_);
  absl::Notification stop_retry_;
  std::thread retry_;  // flushes pending_ every 250 ms while it is not empty
  absl::Mutex local_mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<const v1::Practice>> local_
      ABSL_GUARDED_BY(local_mu_);
};

}  // namespace dorset::registry

#endif  // DORSET_SERVICES_REGISTRY_REGISTRY_CACHE_H_
