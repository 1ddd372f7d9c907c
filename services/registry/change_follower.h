// Follows the change feed of the shared database for a registry replica (several registry
// processes over one PostgreSQL database): learns of changes other replicas commit, wakes this
// replica's WatchChanges streams and sweeps its caches (RegistryCache::SweepRemote).
//
// Prompt by PostgreSQL LISTEN/NOTIFY (every write transaction notifies, delivered at its
// commit), sound by the database: the follower reads `seq > last seen` from the change table on
// every notification and at least once a second without one, so a notification lost while the
// listening connection was down costs at most that second. The watchers still read their rows
// from the table themselves (ChangeHub), so a wake can never make a gap or a duplicate.
#ifndef DORSET_SERVICES_REGISTRY_CHANGE_FOLLOWER_H_
#define DORSET_SERVICES_REGISTRY_CHANGE_FOLLOWER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace dorset::registry {

class ChangeHub;
class ChangeSignal;
class RegistryCache;
class Store;

class ChangeFollower {
 public:
  // `listener` from Store::ListenForChanges (not null). The referenced objects outlive this.
  ChangeFollower(Store& store, RegistryCache& cache, ChangeHub& hub,
                 std::unique_ptr<ChangeSignal> listener, absl::Duration poll = absl::Seconds(1));
  ~ChangeFollower();
  ChangeFollower(const ChangeFollower&) = delete;
  ChangeFollower& operator=(const ChangeFollower&) = delete;

  // The highest sequence swept so far (tests).
  int64_t seen() const { return seen_.load(); }

 private:
  void Loop();
  // Reads the changes after seen_ and sweeps; false when the database did not answer.
  bool CatchUp();

  Store& store_;
  RegistryCache& cache_;
  ChangeHub& hub_;
  std::unique_ptr<ChangeSignal> listener_;
  const absl::Duration poll_;
  std::atomic<int64_t> seen_{-1};  // -1 until the first read of the latest sequence
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace dorset::registry

#endif  // DORSET_SERVICES_REGISTRY_CHANGE_FOLLOWER_H_
