// Wakes WatchChanges streams when a write commits. Writers call Notify() after COMMIT; a hub
// thread then wakes every watcher, which reads the new rows itself from the change table. The
// table (not the notification) carries the data, so a watcher can never see a gap: it reads
// "sequence > last sent", and a commit it raced with is seen on the next wake.
#ifndef DORSET_SERVICES_REGISTRY_CHANGE_HUB_H_
#define DORSET_SERVICES_REGISTRY_CHANGE_HUB_H_

#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"

namespace dorset::registry {

class ChangeWatcher {
 public:
  virtual ~ChangeWatcher() = default;
  // New changes may have committed. Called on the hub thread; must not call back into the hub.
  virtual void Wake() = 0;
  // The server is stopping: end the stream.
  virtual void EndForShutdown() = 0;
};

class ChangeHub {
 public:
  ChangeHub();
  ~ChangeHub();
  ChangeHub(const ChangeHub&) = delete;
  ChangeHub& operator=(const ChangeHub&) = delete;

  // False when the hub is shutting down (the watcher should end at once).
  bool Add(ChangeWatcher* watcher);
  // Blocks while the hub is waking watchers, so `watcher` may be destroyed on return.
  void Remove(ChangeWatcher* watcher);
  void Notify();
  // Ends every watcher and refuses new ones. Idempotent.
  void Shutdown();
  int watcher_count();

 private:
  void Loop();

  absl::Mutex mu_;
  absl::flat_hash_set<ChangeWatcher*> watchers_ ABSL_GUARDED_BY(mu_);
  bool pending_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace dorset::registry

#endif  // DORSET_SERVICES_REGISTRY_CHANGE_HUB_H_
