// The storage lane's SQLite engine: connections are runtime/sqlite Databases (WAL,
// synchronous=FULL, foreign keys, busy timeout), one writer beside a few readers, statements
// prepared once per connection and reused. SQLITE_BUSY / SQLITE_LOCKED make the transaction run
// again; the error mapping (constraints, full disk, I/O faults) is runtime/sqlite's. WAL
// checkpoints run on a thread of the connector's own (runtime/sqlite/wal_checkpointer.h), not
// inside the writer's commits; it stops after the last writer connection closed.
//
//   auto connector = std::make_unique<SqliteConnector>("/var/lib/dorset/finance.db");
//   ASSIGN_OR_RETURN(auto db, Database::Open(std::move(connector), options));
#ifndef DORSET_RUNTIME_STORAGE_SQLITE_SQLITE_ENGINE_H_
#define DORSET_RUNTIME_STORAGE_SQLITE_SQLITE_ENGINE_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "runtime/sqlite/wal_checkpointer.h"
#include "runtime/storage/engine.h"

namespace dorset::runtime::storage {

struct SqliteOptions {
  int readers = 4;
  int busy_timeout_ms = 5000;
  // PRAGMA secure_delete on every connection: deleted and overwritten content is zeroed in the
  // file instead of lingering in free space (stores holding personal data, e.g. engagement).
  bool secure_delete = false;
  // When the writer's WAL is checkpointed, and by whom (wal_checkpointer.h).
  sqlite::CheckpointOptions checkpoint;
  // How many records the request log holds before a write merges it into idempotency_record
  // (runtime/storage/request_log.h).
  size_t request_log_merge_at = 8192;
};

class SqliteConnector : public Connector {
 public:
  explicit SqliteConnector(std::string path, SqliteOptions options = {})
      : path_(std::move(path)), options_(options) {}
  Engine engine() const override { return Engine::kSqlite; }
  PoolShape pool_shape() const override { return {1, options_.readers, false}; }
  absl::StatusOr<std::unique_ptr<Connection>> Connect(bool read_only) override;
  std::string Describe() const override { return "sqlite://" + path_; }
  // What this database's checkpoints did so far (tests).
  sqlite::CheckpointCounts checkpoint_counts();

 private:
  std::string path_;
  SqliteOptions options_;
  absl::Mutex mu_;
  // Started with the first writer connection; each writer connection holds it too, so it stops
  // only after the last of them closed.
  std::shared_ptr<sqlite::WalCheckpointer> checkpointer_ ABSL_GUARDED_BY(mu_);
};

}  // namespace dorset::runtime::storage

#endif  // DORSET_RUNTIME_STORAGE_SQLITE_SQLITE_ENGINE_H_
