// A named lock across replicas (replica_lock.h).
#include "runtime/storage/replica_lock.h"

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "runtime/status/status_macros.h"

namespace dorset::runtime::storage {
namespace {

// The (database, name) pairs this process holds on SQLite.
struct HeldSet {
  absl::Mutex mu;
  absl::flat_hash_set<std::string> held ABSL_GUARDED_BY(mu);
};
HeldSet& Held() {
  static HeldSet* set = new HeldSet;  // never destroyed: used until the process exits
  return *set;
}

// Runs `sql` (one bigint parameter, one boolean column) on `connection` outside any
// transaction and returns the column.
absl::StatusOr<bool> AskBool(Connection& connection, std::string_view sql, int64_t key) {
  Transaction session(connection, Engine::kPostgres);
  ASSIGN_OR_RETURN(Statement stmt, session.Prepare(sql));
  stmt.Bind(1, key);
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return absl::InternalError(std::string(sql) + " returned no row");
  return stmt.Int(0) != 0;
}

}  // namespace

int64_t ReplicaLock::KeyOf(std::string_view name) {
  uint64_t h = 14695981039346656037ULL;  // FNV-1a, 64 bits
  for (unsigned char c : "dorset:" + std::string(name)) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return static_cast<int64_t>(h);
}

absl::StatusOr<std::unique_ptr<ReplicaLock>> ReplicaLock::TryAcquire(Database& db,
                                                                     std::string_view name) {
  const int64_t key = KeyOf(name);
  if (db.engine() == Engine::kSqlite) {
    std::string held_key = db.Describe() + "\n" + std::string(name);
    HeldSet& set = Held();
    absl::MutexLock lock(&set.mu);
    if (!set.held.insert(held_key).second) return nullptr;
    return std::unique_ptr<ReplicaLock>(new ReplicaLock(std::move(held_key), nullptr, key));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection, db.ConnectOwn());
  ASSIGN_OR_RETURN(bool got, AskBool(*connection, "SELECT pg_try_advisory_lock(?)", key));
  if (!got) return nullptr;
  return std::unique_ptr<ReplicaLock>(new ReplicaLock("", std::move(connection), key));
}

ReplicaLock::~ReplicaLock() {
  if (connection_ != nullptr) {
    // Unlock explicitly: closing the connection releases it too, but the server notices the
    // close a moment later, and a replica that tries in between would be turned away.
    if (!connection_->broken()) {
      (void)AskBool(*connection_, "SELECT pg_advisory_unlock(?)", key_);
    }
    return;
  }
  HeldSet& set = Held();
  absl::MutexLock lock(&set.mu);
  set.held.erase(held_key_);
}

}  // namespace dorset::runtime::storage
