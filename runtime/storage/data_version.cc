#include "runtime/storage/data_version.h"

#include <string>

#include "runtime/status/status_macros.h"
#include "runtime/storage/postgres/listener.h"
#include "runtime/storage/transact.h"

namespace dorset::runtime::storage {

absl::Status BumpDataVersion(Transaction& tx, std::string_view channel) {
  ASSIGN_OR_RETURN(Statement bump,
                   tx.Prepare("INSERT INTO meta(key, value) VALUES ('data_version', '1') "
                              "ON CONFLICT (key) DO UPDATE SET value = "
                              "CAST(CAST(meta.value AS BIGINT) + 1 AS TEXT)"));
  RETURN_IF_ERROR(bump.Run());
  if (tx.engine() == Engine::kPostgres) {
    ASSIGN_OR_RETURN(Statement notify,
                     tx.Prepare("SELECT pg_notify('" + std::string(channel) + "', '')"));
    RETURN_IF_ERROR(notify.Run());
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> ReadDataVersion(Transaction& tx) {
  ASSIGN_OR_RETURN(Statement read,
                   tx.Prepare("SELECT CAST(value AS BIGINT) FROM meta WHERE key = 'data_version'"));
  ASSIGN_OR_RETURN(bool row, read.Step());
  return row ? static_cast<uint64_t>(read.Int(0)) : 0;
}

absl::StatusOr<uint64_t> ReadDataVersion(Database& db) {
  return ReadReturning(
      db, [](Transaction& tx) -> absl::StatusOr<uint64_t> { return ReadDataVersion(tx); });
}

DataVersionFollower::DataVersionFollower(Source source, absl::Duration poll)
    : source_(std::move(source)), poll_(poll) {
  if (!source_.postgres_uri.empty()) {
    listener_ =
        std::make_unique<PostgresListener>(source_.postgres_uri, source_.password, source_.channel);
  }
  // The baseline before any reply is kept: a write after it, from anywhere, is seen as a change.
  absl::StatusOr<uint64_t> version = source_.read_version();
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
    absl::StatusOr<uint64_t> version = source_.read_version();
    if (!version.ok()) continue;  // the database is away: read again on the next turn
    // This process's own writes advance by themselves; once more for them is harmless (a miss).
    if (!seen_.has_value() || *seen_ != *version) source_.advance();
    seen_ = *version;
  }
}

}  // namespace dorset::runtime::storage
