// WatchChanges' stream reactor: the backlog of the change feed after the resume point, then
// each change as it commits, woken by the ChangeHub.
#ifndef DORSET_SERVICES_REGISTRY_API_WATCH_REACTOR_H_
#define DORSET_SERVICES_REGISTRY_API_WATCH_REACTOR_H_

#include <cstdint>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "dorset/registry/v1/registry.pb.h"
#include "runtime/server/stream_writer.h"
#include "runtime/status/grpc_status.h"
#include "services/registry/change_hub.h"
#include "services/registry/storage/store.h"

namespace dorset::registry {

// Changes read from the store per batch.
inline constexpr int kWatchBatch = 256;

// Streams the backlog after the resume point, then each change as it commits. Reads go to
// the change table (never to the notification), so there is no gap; the cursor only moves
// forward, so there is no duplicate.
class WatchReactor final : public runtime::StreamWriter<v1::Change>, public ChangeWatcher {
 public:
  // StreamWriter ends the stream correctly on cancel, shutdown and errors (runtime/server).
  WatchReactor(Store& store, ChangeHub& hub, int64_t after)
      : store_(store), hub_(hub), cursor_(after) {
    // Register before taking mu_: the hub locks its own mutex, then a watcher's (in Wake), so
    // a watcher never takes the hub's while holding its own.
    registered_ = hub_.Add(this);
    if (!registered_) {
      End(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the registry is shutting down"));
      return;
    }
    Resume();
  }

  void Wake() override { Resume(); }

  void EndForShutdown() override {
    End(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                     "the registry is shutting down; resume after the last sequence"));
  }

 private:
  void ProduceLocked() override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (next_ >= batch_.size()) {
      absl::StatusOr<std::vector<v1::Change>> changes = store_.ChangesAfter(cursor_, kWatchBatch);
      if (!changes.ok()) {
        EndLocked(runtime::ToGrpcStatus(changes.status()));
        return;
      }
      batch_ = *std::move(changes);
      next_ = 0;
      if (batch_.empty()) return;  // the next Wake() reads again
    }
    const v1::Change& change = batch_[next_++];
    cursor_ = change.sequence();
    WriteLocked(&change);
  }

  void OnClosed() override {
    if (registered_) hub_.Remove(this);
  }

  Store& store_;
  ChangeHub& hub_;
  bool registered_ = true;
  int64_t cursor_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::Change> batch_ ABSL_GUARDED_BY(mu_);
  size_t next_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace dorset::registry

#endif  // DORSET_SERVICES_REGISTRY_API_WATCH_REACTOR_H_
