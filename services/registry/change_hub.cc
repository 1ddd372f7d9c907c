#include "services/registry/change_hub.h"

#include <vector>

namespace dorset::registry {

ChangeHub::ChangeHub() : thread_([this] { Loop(); }) {}

ChangeHub::~ChangeHub() {
  Shutdown();
  if (thread_.joinable()) thread_.join();
}

bool ChangeHub::Add(ChangeWatcher* watcher) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return false;
  watchers_.insert(watcher);
  return true;
}

void ChangeHub::Remove(ChangeWatcher* watcher) {
  absl::MutexLock lock(&mu_);
  watchers_.erase(watcher);
}

void ChangeHub::Notify() {
  absl::MutexLock lock(&mu_);
  pending_ = true;
}

int ChangeHub::watcher_count() {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(watchers_.size());
}

void ChangeHub::Shutdown() {
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  stopping_ = true;
  // Watchers stay registered until their OnDone removes them; ending them here only asks
  // gRPC to finish the calls.
  for (ChangeWatcher* watcher : watchers_) watcher->EndForShutdown();
}

void ChangeHub::Loop() {
  absl::MutexLock lock(&mu_);
  while (true) {
    mu_.Await(absl::Condition(
        +[](ChangeHub* hub)
             ABSL_NO_THREAD_SAFETY_ANALYSIS { return hub->pending_ || hub->stopping_; },
        this));
    if (stopping_) return;
    pending_ = false;
    // Waking under mu_ keeps Remove() (and so the watcher's destruction) out until done.
    for (ChangeWatcher* watcher : watchers_) watcher->Wake();
  }
}

}  // namespace dorset::registry
