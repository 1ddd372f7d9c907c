// The engagement service's store on the storage lane (docs/storage.md): one runtime::storage
// Database, SQLite by default (`<data_dir>/engagement.db`, the file the service writes today) or
// PostgreSQL by the `database` setting, with engagement's migrations (storage/migrations/) and
// SQLite's secure_delete on every connection (erased personal data is zeroed in the file).
//
// The service's transactions run here (Write/Read with a function of the transaction, a StoreTx
// that the domain hands on to the storage functions of this folder, *_rows.h).
//
//   ASSIGN_OR_RETURN(auto store, EngagementStore::Open(config));
//   absl::StatusOr<v1::Activity> a = store->Read([&](StoreTx& tx) { return LoadActivity(tx, id);
//   });
#ifndef DORSET_SERVICES_ENGAGEMENT_STORAGE_STORE_H_
#define DORSET_SERVICES_ENGAGEMENT_STORAGE_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "runtime/config/config.h"
#include "runtime/storage/data_version.h"
#include "runtime/storage/database.h"
#include "runtime/storage/replica_lock.h"
#include "runtime/storage/transact.h"
#include "runtime/storage/write_and_advance.h"

namespace dorset::engagement {

// One open transaction of the engagement store, as the code above storage/ holds it: handed to
// the function given to EngagementStore::Write/Read and passed on, unopened, to this folder's
// storage functions. Like the registry's WriteTx it keeps the lane's Transaction (and with it
// SQL and the engine) inside storage/: the domain names only StoreTx (tests/style
// style_layering checks that no file outside a storage/ folder names runtime::storage's
// database types or holds SQL). Only valid inside the Write/Read callback.
class StoreTx {
 public:
  explicit StoreTx(runtime::storage::Transaction& tx) : tx_(tx) {}
  StoreTx(const StoreTx&) = delete;
  StoreTx& operator=(const StoreTx&) = delete;

  // For the storage functions of this folder (and storage tests): they take the lane's
  // Transaction, so a StoreTx is passed to them as it is.
  operator runtime::storage::Transaction&() const { return tx_; }

  // A group writer that read the data version ahead, at its transaction's start (on PostgreSQL,
  // ResponseBatch::ReadAhead), says what it read: the group's bump is then sent with the commit,
  // not waited for (StoreCommitter, runtime::storage::SendDataVersionBump).
  void set_start_version(uint64_t version) { start_version_ = version; }
  std::optional<uint64_t> start_version() const { return start_version_; }

 private:
  runtime::storage::Transaction& tx_;
  std::optional<uint64_t> start_version_;
};

class EngagementStore {
 public:
  // From the server's settings: `database` (empty: SQLite at `<data_dir>/engagement.db`),
  // `database_password_file`.
  static absl::StatusOr<std::unique_ptr<EngagementStore>> Open(const runtime::ServerConfig& config);
  // `database` as the setting takes it ("" for `<data_dir>/engagement.db`, sqlite:///…,
  // postgres://…), with PostgreSQL's password. A pre-lane engagement.db (PRAGMA user_version
  // 1-3) is carried over as it is.
  static absl::StatusOr<std::unique_ptr<EngagementStore>> Open(const std::string& database,
                                                               const std::string& data_dir,
                                                               const std::string& password = "");

  // Runs `fn(StoreTx&)` in a write transaction (run again from the start on a serialization
  // failure, so `fn` touches only the database and its own locals); returns what `fn` returned.
  // The data version is bumped in the same transaction and both generations raised after it
  // (runtime/storage/write_and_advance.h).
  template <typename Fn>
  auto Write(Fn&& fn) {
    return runtime::storage::WriteAndAdvance(
        *db_, kDataChannel, &own_commits_, [this] { Advance(); },
        [&fn](runtime::storage::Transaction& tx) { return Call(fn, tx); });
  }
  // Runs `fn(StoreTx&)` in a read-only transaction (one snapshot).
  template <typename Fn>
  auto Read(Fn&& fn) {
    return runtime::storage::ReadReturning(
        *db_, [&fn](runtime::storage::Transaction& tx) { return Call(fn, tx); });
  }

  // What replies kept per store generation are kept under (issue 16,
  // runtime/storage/data_version.h): raised after each of this process's write transactions
  // commits and before the write is acknowledged (Write above, StoreCommitter), and by the
  // DataVersionFollower when the data version in the database moved because another replica (or
  // process) wrote. Read before the reply is read.
  uint64_t generation() const { return generation_.get(); }
  void Advance() {
    generation_.Advance();
    activity_generation_.Advance();
  }
  // The same, except that a group of CreateResponse (ResponseWriter) raises only generation():
  // a response changes responses, counter cells, request records and the audit outbox, never an
  // activity's row, so what is kept under this one (GetActivity's reply; the aggregates' counts,
  // which the response writer brings up to date itself: Aggregates::ApplyGroup) outlives it.
  // Raised by every other write of this process and by the DataVersionFollower.
  uint64_t activity_generation() const { return activity_generation_.get(); }
  void AdvanceAfterResponses() { generation_.Advance(); }
  // The data version in the database: every write transaction raises it in its own commit and,
  // on PostgreSQL, notifies kDataChannel, delivered at that commit.
  static constexpr char kDataChannel[] = "dorset_engagement_data";
  absl::StatusOr<uint64_t> DataVersion() { return runtime::storage::ReadDataVersion(*db_); }
  // Raises it in `tx`: the version `tx` commits.
  static absl::StatusOr<uint64_t> BumpDataVersion(runtime::storage::Transaction& tx) {
    return runtime::storage::BumpDataVersion(tx, kDataChannel);
  }
  // The same for a transaction that read the version `read` at its start: sent, not waited for.
  static absl::StatusOr<uint64_t> SendDataVersionBump(runtime::storage::Transaction& tx,
                                                      uint64_t read) {
    return runtime::storage::SendDataVersionBump(tx, kDataChannel, read);
  }
  // This process's own commits, advanced for: each write records its version here so that the
  // DataVersionFollower does not advance again for it (runtime/storage/data_version.h).
  runtime::storage::OwnCommits& own_commits() { return own_commits_; }
  // The data version as of `tx` (in a write transaction after its bump: the version it commits).
  static absl::StatusOr<uint64_t> DataVersion(StoreTx& tx) {
    return runtime::storage::ReadDataVersion(tx);
  }
  // Starts following other replicas' (and processes') commits: the generation is raised when
  // the data version in the database moves (runtime/storage/data_version.h), until the store is
  // destroyed. Once, by the service at its start.
  void FollowOtherWriters();

  // Held while one replica runs a job no other replica may run at the same time (retention):
  // the lane's ReplicaLock on this database; null when another replica holds it.
  absl::StatusOr<std::unique_ptr<runtime::storage::ReplicaLock>> TryLockAcrossReplicas(
      std::string_view name) {
    return runtime::storage::ReplicaLock::TryAcquire(*db_, name);
  }

  // The database's health (readiness: NOT_SERVING while it is away).
  absl::Status Check() { return db_->Health(); }
  runtime::storage::Engine engine() const { return db_->engine(); }
  runtime::storage::Database& database() { return *db_; }
  // SQLite: moves the WAL's pages into the file and truncates it, so erased personal data does
  // not linger in old page images (best effort: a reader may hold it). Runs outside any
  // transaction, on a connection of its own. Nothing to do on PostgreSQL.
  absl::Status CheckpointWal();

 private:
  template <typename Fn>
  static auto Call(Fn& fn, runtime::storage::Transaction& tx) {
    StoreTx store_tx(tx);
    return fn(store_tx);
  }

  EngagementStore(std::unique_ptr<runtime::storage::Database> db, std::string sqlite_path)
      : db_(std::move(db)), sqlite_path_(std::move(sqlite_path)) {}

  std::unique_ptr<runtime::storage::Database> db_;
  const std::string sqlite_path_;  // "" on PostgreSQL
  runtime::storage::StoreGeneration generation_;
  runtime::storage::StoreGeneration activity_generation_;
  std::string postgres_uri_;  // "" on SQLite
  std::string password_;
  // This process's commits already advanced for (the follower skips them).
  runtime::storage::OwnCommits own_commits_;
  // Last: stopped before the rest of the store goes.
  std::unique_ptr<runtime::storage::DataVersionFollower> follower_;
};

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_STORAGE_STORE_H_
