#include "services/registry/change_follower.h"

#include <string>
#include <vector>

#include "runtime/logging/log.h"
#include "services/registry/change_hub.h"
#include "services/registry/registry_cache.h"
#include "services/registry/storage/store.h"

namespace dorset::registry {
namespace {

constexpr int kBatch = 1000;
// Beyond this many changes in one sweep (a national import) the whole map is dropped instead.
constexpr size_t kMaxListed = 10000;
// The listener waits in slices this long so that shutdown is never held up for long.
constexpr absl::Duration kSlice = absl::Milliseconds(200);

}  // namespace

ChangeFollower::ChangeFollower(Store& store, RegistryCache& cache, ChangeHub& hub,
                               std::unique_ptr<ChangeSignal> listener, absl::Duration poll)
    : store_(store), cache_(cache), hub_(hub), listener_(std::move(listener)), poll_(poll) {
  thread_ = std::thread([this] { Loop(); });
}

ChangeFollower::~ChangeFollower() {
  stop_.Notify();
  thread_.join();
}

bool ChangeFollower::CatchUp() {
  int64_t seen = seen_.load();
  if (seen < 0) {
    // Start from the present: what committed before this replica started is not in its caches.
    absl::StatusOr<int64_t> latest = store_.LatestSequence();
    if (!latest.ok()) return false;
    seen_.store(*latest);
    return true;
  }
  std::vector<std::string> codes;
  bool all = false;
  int64_t last = seen;
  while (true) {
    // Only the heads (sequence and resource): the sweep needs no state, and after an import
    // of the national extract reading and parsing every change's payload (16,534 practices,
    // ~10 MB) competed with the import's own reply for the machine's CPU (issue 16).
    absl::StatusOr<std::vector<CommittedChange>> changes = store_.ChangeHeadsAfter(last, kBatch);
    if (!changes.ok()) break;  // swept what was read; the rest on the next round
    for (CommittedChange& change : *changes) {
      last = change.sequence;
      if (!all && !change.practice_code.empty()) {
        codes.push_back(std::move(change.practice_code));
        if (codes.size() > kMaxListed) all = true;
      }
    }
    if (changes->size() < static_cast<size_t>(kBatch)) break;
  }
  if (last == seen) return true;
  cache_.SweepRemote(all ? std::vector<std::string>{} : codes, all);
  hub_.Notify();
  seen_.store(last);
  return true;
}

void ChangeFollower::Loop() {
  absl::Time next_poll = absl::InfinitePast();
  bool wanted = true;
  while (!stop_.HasBeenNotified()) {
    if (wanted || absl::Now() >= next_poll) {
      CatchUp();
      wanted = false;
      next_poll = absl::Now() + poll_;
    }
    absl::StatusOr<bool> notified = listener_->Wait(kSlice);
    if (!notified.ok()) {
      // The database is away: the pool's reads fail too; try again after a pause.
      stop_.WaitForNotificationWithTimeout(poll_);
      wanted = true;
      continue;
    }
    if (*notified) wanted = true;
  }
}

}  // namespace dorset::registry
