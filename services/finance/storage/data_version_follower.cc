#include "services/finance/storage/data_version_follower.h"

#include "runtime/storage/postgres/listener.h"

namespace dorset::finance {

DataVersionFollower::DataVersionFollower(FinanceStore& store, absl::Duration poll)
    : store_(store), poll_(poll) {
  if (!store.postgres_uri().empty()) {
    listener_ = std::make_unique<runtime::storage::PostgresListener>(
        store.postgres_uri(), store.password(), FinanceStore::kDataChannel);
  }
  // The baseline before any reply is kept: a write after it, from anywhere, is seen as a change.
  absl::StatusOr<uint64_t> version = store.DataVersion();
  if (version.ok()) seen_ = *version;
  thread_ = std::thread([this] { Loop(); });
}

DataVersionFollower::~DataVersionFollower() {
  stop_.Notify();
  thread_.join();
}

void DataVersionFollower::Loop() {
  while (!stop_.HasBeenNotified()) {
    if (listener_ != nullptr) {
      // A notification, a timeout or a reconnection: read the version whichever it was.
      absl::StatusOr<bool> notified = listener_->Wait(poll_);
      if (!notified.ok() && stop_.WaitForNotificationWithTimeout(poll_)) return;
    } else if (stop_.WaitForNotificationWithTimeout(poll_)) {
      return;
    }
    absl::StatusOr<uint64_t> version = store_.DataVersion();
    if (!version.ok()) continue;  // the database is away: read again on the next turn
    // This process's own writes advance by themselves; once more for them is harmless (a miss).
    if (!seen_.has_value() || *seen_ != *version) store_.Advance();
    seen_ = *version;
  }
}

}  // namespace dorset::finance
