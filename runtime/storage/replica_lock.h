// One runner at a time across every process that shares a database: a named lock for periodic
// jobs (engagement's retention) that must not run on two replicas at once. Try, never wait: a
// replica that does not get it skips this round, since another is doing the work.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<ReplicaLock> lock, ReplicaLock::TryAcquire(db, "retention"));
//   if (lock == nullptr) return;  // another replica holds it
//   ... the job's own transactions ...
//   // released when `lock` is destroyed
//
// PostgreSQL: a session-level advisory lock (pg_try_advisory_lock) on a connection of its own,
// outside the pools, held until the ReplicaLock is destroyed (pg_advisory_unlock, then the
// connection closes); if that connection is lost the server releases the lock, so a replica
// that dies never keeps it. The key is FNV-1a of "dorset:<name>", the same in every process.
// SQLite: one process writes the file (docs/storage.md), so a process-wide set of held
// (database, name) pairs is the whole story; the interface is the same.
#ifndef DORSET_RUNTIME_STORAGE_REPLICA_LOCK_H_
#define DORSET_RUNTIME_STORAGE_REPLICA_LOCK_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "runtime/storage/database.h"

namespace dorset::runtime::storage {

class ReplicaLock {
 public:
  // The lock, or nullptr when another holder (this process or another) has it. An error only
  // when the database cannot be asked (UNAVAILABLE while it is away).
  static absl::StatusOr<std::unique_ptr<ReplicaLock>> TryAcquire(Database& db,
                                                                 std::string_view name);
  ~ReplicaLock();
  ReplicaLock(const ReplicaLock&) = delete;
  ReplicaLock& operator=(const ReplicaLock&) = delete;

  // The advisory lock key of `name` on PostgreSQL (stable across processes and builds).
  static int64_t KeyOf(std::string_view name);

 private:
  ReplicaLock(std::string held_key, std::unique_ptr<Connection> connection, int64_t key)
      : held_key_(std::move(held_key)), connection_(std::move(connection)), key_(key) {}

  std::string held_key_;                    // SQLite: the entry in the process-wide set
  std::unique_ptr<Connection> connection_;  // PostgreSQL: the session holding the lock
  int64_t key_ = 0;
};

}  // namespace dorset::runtime::storage

#endif  // DORSET_RUNTIME_STORAGE_REPLICA_LOCK_H_
