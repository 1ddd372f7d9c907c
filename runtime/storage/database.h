// The storage lane's database, the same for SQLite and PostgreSQL: a pool of connections,
// transactions run as a function (committed when it returns OK, rolled back otherwise, run again
// on a serialization failure, deadlock or busy database), schema migrations at open, and a
// health state for readiness. SQL uses `?` placeholders on both engines.
//
//   ASSIGN_OR_RETURN(DatabaseUrl url, ParseDatabaseUrl(config.database, config.data_dir,
//   "finance")); ASSIGN_OR_RETURN(auto db, OpenDatabase(url, password, {.migrations = ...}));  //
//   open.h RETURN_IF_ERROR(db->Write([&](Transaction& tx) -> absl::Status {
//     ASSIGN_OR_RETURN(Statement insert, tx.Prepare("INSERT INTO plan (id, name) VALUES (?, ?)"));
//     return insert.Bind(1, id).Bind(2, name).Run();
//   }));
//   host.AddReadinessCheck([&] { return db->Health(); });
//
// An unreachable database at open is not an error: Open returns a Database whose Health() and
// calls say UNAVAILABLE, and every later call or Health() probe tries again (with backoff) until
// it answers; then the migrations run. Only a permanent fault (a schema newer than the binary, a
// migration that fails) makes Open fail.
#ifndef DORSET_RUNTIME_STORAGE_DATABASE_H_
#define DORSET_RUNTIME_STORAGE_DATABASE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "runtime/storage/connection_pool.h"
#include "runtime/storage/engine.h"
#include "runtime/storage/migration.h"
#include "runtime/storage/statement.h"

namespace dorset::runtime::storage {

// The view of one open transaction handed to the function given to Write or Read.
class Transaction {
 public:
  explicit Transaction(Connection& connection, Engine engine)
      : connection_(connection), engine_(engine) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  absl::StatusOr<Statement> Prepare(std::string_view sql);
  // Runs one or more statements that return no rows.
  absl::Status Exec(std::string_view sql) { return connection_.Exec(sql); }
  // For the rare statement whose SQL differs between the engines.
  Engine engine() const { return engine_; }
  // Runs `fn` in a savepoint, so that a refused part of a transaction leaves nothing and the
  // rest goes on: `fn`'s own failure is undone and returned as the value. A failure that dooms
  // the whole transaction (a serialization failure or deadlock, PostgreSQL 40001/40P01; a busy
  // database; a lost connection) is returned as the error instead and must be returned from the
  // transaction's function, so that Database::Write runs the whole transaction again (or fails
  // it): a savepoint never swallows it.
  absl::StatusOr<absl::Status> InSavepoint(absl::FunctionRef<absl::Status()> fn);
  // As InSavepoint, for a part whose only write is its last statement (reads, checks, then one
  // INSERT). On SQLite a statement that fails undoes its own changes and the transaction goes
  // on, so no savepoint is taken: SAVEPOINT, RELEASE and the savepoint's copies of the pages the
  // part touches cost a group of CreateResponse ~6.4k instructions a response (bench/README.md,
  // session 17). Should a statement of the part complete before the part fails after all,
  // nothing could take it back: the transaction is then failed (the error) rather than left
  // half-written. On PostgreSQL a failed statement aborts the transaction: InSavepoint.
  absl::StatusOr<absl::Status> InOneWritePart(absl::FunctionRef<absl::Status()> fn);
  // For a part that writes nothing itself (reads and checks; its rows are kept and written
  // after every part, by a group's flush): no savepoint on either engine. On SQLite as
  // InOneWritePart. On PostgreSQL, where a failed statement aborts the transaction, a part that
  // fails after a statement of it failed fails the transaction (the error); a part refused by
  // its own checks returns the refusal as the value. A part that writes anything must use
  // InSavepoint or InOneWritePart instead.
  absl::StatusOr<absl::Status> InPartWritingLater(absl::FunctionRef<absl::Status()> fn);
  // Statements sent from now on go to the server together, when a result is wanted, bar the
  // first after each read (Connection::HoldSends): for a transaction sending many back to back.
  void HoldSends() { connection_.HoldSends(); }

  // Set by a group committer (group_commit.h) for a group's first attempt on SQLite: request
  // records prepared with deferred lookups (idempotency.h, IdempotencyRecord::Lookups) then
  // find their requests by inserting them, and the committer runs the group again with lookups
  // if that attempt fails. Off (every Find reads the table) unless set.
  void set_defer_request_lookups(bool defer) { defer_request_lookups_ = defer; }
  bool defer_request_lookups() const { return defer_request_lookups_; }
  // Such a record took a request for new without a lookup in this transaction.
  void NoteLookupDeferred() { lookup_deferred_ = true; }
  bool lookup_deferred() const { return lookup_deferred_; }
  // The connection's request log index (request_log.h): SQLite's; null on PostgreSQL.
  RequestLogIndex* request_log_index() { return connection_.request_log_index(); }
  // Whether the request log's index was caught up in this transaction (once, before its first
  // append: CatchUpRequestLog).
  bool request_log_caught_up() const { return request_log_caught_up_; }
  void set_request_log_caught_up() { request_log_caught_up_ = true; }

 private:
  Connection& connection_;
  Engine engine_;
  bool defer_request_lookups_ = false;
  bool lookup_deferred_ = false;
  bool request_log_caught_up_ = false;
};

struct DatabaseOptions {
  // Applied in order at open (or at the first contact when the database was away).
  std::span<const Migration> migrations;
  // The table recording them (a second set of steps in one database keeps its own).
  std::string_view migrations_table = "schema_migrations";
  // A transaction that hits a serialization failure, deadlock or busy database runs again, up
  // to this many attempts in all, sleeping a jittered, doubling backoff between attempts.
  int max_attempts = 8;
  Backoff retry_backoff{absl::Milliseconds(2), absl::Milliseconds(200)};
  // Between attempts to reach a database that is away.
  Backoff reconnect_backoff{absl::Milliseconds(50), absl::Seconds(2)};
};

class Database {
 public:
  static absl::StatusOr<std::unique_ptr<Database>> Open(std::unique_ptr<Connector> connector,
                                                        DatabaseOptions options = {});
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  using TransactionFn = absl::FunctionRef<absl::Status(Transaction&)>;
  // Runs `fn` in a write transaction and commits when it returns OK. A serialization failure,
  // deadlock or busy database runs it again from the start (so `fn` must only touch the
  // database and its own locals); after max_attempts the result is ABORTED. A lost connection
  // is UNAVAILABLE: the write may or may not have committed only if the loss hit the COMMIT.
  absl::Status Write(TransactionFn fn);
  // Write, queued behind every other WriteQueued with the same `queue` (a nonzero key) on this
  // database, from any process: for transactions that all read one head (the ledger's last
  // posting and hash chain) and append after it, which under SERIALIZABLE would otherwise
  // collide and be rolled back. PostgreSQL: a session advisory lock on `queue`, taken BEFORE
  // BEGIN and released after COMMIT or ROLLBACK, so the transaction's snapshot is taken after
  // the previous holder committed (pg_advisory_xact_lock inside the transaction would come too
  // late: its own SELECT takes the snapshot before the wait). SERIALIZABLE still guards
  // against every other writer. SQLite: the same as Write (BEGIN IMMEDIATE already queues).
  absl::Status WriteQueued(int64_t queue, TransactionFn fn);
  // Runs `fn` in a read-only transaction (one snapshot). Do not call Write or Read inside `fn`
  // (SQLite's single writer would wait for itself).
  absl::Status Read(TransactionFn fn);

  // OK while the database answers; UNAVAILABLE (connection lost, database unreachable),
  // RESOURCE_EXHAUSTED (disk full) or FAILED_PRECONDITION (schema refused) otherwise. While it
  // is away each call probes it again once the reconnect backoff allows.
  absl::Status Health();

  Engine engine() const { return engine_; }
  // Transactions run again after a serialization failure, deadlock or busy database (metrics).
  int64_t retries() const { return retries_.load(std::memory_order_relaxed); }
  // Where the database is, without secrets.
  std::string Describe() const { return connector_->Describe(); }
  // A connection of its own, outside the pools, for session state that outlives a transaction
  // (replica_lock.h); migrated first. The caller owns it.
  absl::StatusOr<std::unique_ptr<Connection>> ConnectOwn();

 private:
  Database(std::unique_ptr<Connector> connector, DatabaseOptions options);
  absl::Status Run(TransactionMode mode, TransactionFn fn, int64_t queue = 0);
  absl::Status RunOnce(ConnectionPool& pool, TransactionMode mode, TransactionFn fn, int64_t queue,
                       bool& retry, bool& fresh_connection_may_help);
  absl::Status EnsureMigrated();
  void NoteOutcome(const absl::Status& status);

  std::unique_ptr<Connector> connector_;
  const Engine engine_;
  const DatabaseOptions options_;
  std::unique_ptr<ConnectionPool> writers_;
  std::unique_ptr<ConnectionPool> readers_;  // null when shared with writers_
  std::atomic<int64_t> retries_{0};

  absl::Mutex migrate_mu_;  // one migration run at a time
  absl::Mutex mu_;
  bool migrated_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status permanent_error_ ABSL_GUARDED_BY(mu_);  // e.g. a schema newer than the binary
  absl::Status last_failure_ ABSL_GUARDED_BY(mu_);     // UNAVAILABLE / RESOURCE_EXHAUSTED
  absl::Time last_failure_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time last_ok_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace dorset::runtime::storage

#endif  // DORSET_RUNTIME_STORAGE_DATABASE_H_
