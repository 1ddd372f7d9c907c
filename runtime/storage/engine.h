// What a database engine implements for the storage lane (runtime/storage/database.h): a
// Connector that opens connections, a Connection that runs transactions, and a StatementBackend
// behind each Statement. Services never see this file; they use Database, Transaction and
// Statement. The engines live in runtime/storage/sqlite/ and runtime/storage/postgres/.
//
//   class MyConnector : public storage::Connector {
//     absl::StatusOr<std::unique_ptr<storage::Connection>> Connect(bool read_only) override;
//     ...
//   };
//   ASSIGN_OR_RETURN(auto db, storage::Database::Open(std::make_unique<MyConnector>(), options));
#ifndef DORSET_RUNTIME_STORAGE_ENGINE_H_
#define DORSET_RUNTIME_STORAGE_ENGINE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace dorset::runtime::storage {

struct RequestLogIndex;

enum class Engine { kSqlite, kPostgres };
// "sqlite" or "postgres" (test names and logs use it).
std::string_view EngineName(Engine engine);

enum class TransactionMode {
  kRead,     // a consistent snapshot, no writes
  kWrite,    // SQLite: BEGIN IMMEDIATE; PostgreSQL: SERIALIZABLE
  kMigrate,  // the schema lock: SQLite BEGIN IMMEDIATE; PostgreSQL READ COMMITTED + advisory lock
};

// One prepared statement of one connection. Bind indexes start at 1, columns at 0.
class StatementBackend {
 public:
  virtual ~StatementBackend() = default;
  virtual void BindInt(int index, int64_t value) = 0;
  virtual void BindText(int index, std::string_view text) = 0;
  virtual void BindBlob(int index, std::string_view bytes) = 0;
  virtual void BindNull(int index) = 0;
  // Statement::BindKept: the bytes stay unchanged until Reset, so an engine may bind without a
  // copy (SQLite does; PostgreSQL copies as BindText/BindBlob do).
  virtual void BindTextKept(int index, std::string_view text) { BindText(index, text); }
  virtual void BindBlobKept(int index, std::string_view bytes) { BindBlob(index, bytes); }
  virtual absl::StatusOr<bool> Step() = 0;
  // Statement::Send: an engine that can run a statement while the caller goes on overrides it.
  virtual absl::Status Send() {
    while (true) {
      absl::StatusOr<bool> row = Step();
      if (!row.ok()) return row.status();
      if (!*row) return absl::OkStatus();
    }
  }
  // Statement::SendAhead: an engine that can send a statement now and read its result later
  // overrides it; elsewhere the statement runs at its first Step.
  virtual absl::Status SendAhead() { return absl::OkStatus(); }
  virtual void Reset() = 0;
  virtual int64_t Changes() const = 0;
  virtual bool IsNull(int column) const = 0;
  virtual int64_t Int(int column) const = 0;
  virtual std::string Text(int column) const = 0;
  virtual std::string Blob(int column) const = 0;
};

// One connection to the database; used by one thread at a time (the pool hands it out).
class Connection {
 public:
  virtual ~Connection() = default;
  virtual absl::Status Begin(TransactionMode mode) = 0;
  // Begin, queued behind every other holder of `queue` (Database::WriteQueued): the queue's
  // lock is taken before the transaction's BEGIN, so its snapshot follows the previous holder's
  // commit, and Commit or Rollback releases it (a lost connection releases it with itself). For
  // engines with such a lock (PostgreSQL's session advisory locks); the others just Begin.
  virtual absl::Status BeginQueued(TransactionMode mode, int64_t queue) {
    (void)queue;
    return Begin(mode);
  }
  virtual absl::Status Commit() = 0;
  virtual void Rollback() = 0;
  // Runs one or more statements that return no rows (schema changes, SET ...).
  virtual absl::Status Exec(std::string_view sql) = 0;
  // Exec, possibly later: a statement of the transaction's bookkeeping (a savepoint's SAVEPOINT
  // or RELEASE) that may go with the transaction's next statement in one round trip instead of
  // one of its own. A later statement, Exec, commit or rollback sends it first (commit and
  // rollback may drop it: they end every savepoint). Its failure is then that statement's.
  virtual absl::Status ExecDeferred(std::string_view sql) { return Exec(sql); }
  // True once a deferred statement failed in this transaction: a savepoint's bookkeeping went
  // wrong, so no part's outcome can be trusted and the transaction must fail as a whole
  // (Transaction::InSavepoint), never undo "its" part back to a savepoint that may be another's.
  virtual bool deferred_failed() const { return false; }
  virtual absl::StatusOr<std::unique_ptr<StatementBackend>> Prepare(std::string_view sql) = 0;
  // True once the connection is unusable (the server went away): the pool discards it.
  virtual bool broken() const = 0;
  // For a part of a transaction run without a savepoint (Transaction::InOneWritePart): the
  // rows changed by this connection's statements that completed, on an engine where a failed
  // statement undoes its own changes and leaves the transaction open (SQLite's statement
  // atomicity); nullopt where a failed statement aborts the whole transaction (PostgreSQL).
  virtual std::optional<int64_t> CompletedChanges() const { return std::nullopt; }
  // False once the engine ended the transaction by itself (SQLite rolls it back on some
  // errors: a full disk, an I/O error, no memory).
  virtual bool InTransaction() const { return true; }
  // True when the connection was found unusable before the transaction's BEGIN took effect (an
  // engine that sends BEGIN with the first statement learns of a dead pooled connection only
  // there): nothing of the transaction happened, so it may run again on a fresh connection.
  virtual bool lost_before_begin() const { return false; }
  // How many statements failed on this connection so far, on an engine where a failed statement
  // aborts the transaction (PostgreSQL): Transaction::InPartWritingLater's test of whether its
  // part left the transaction usable. 0 elsewhere.
  virtual uint64_t failed_statements() const { return 0; }
  // For the rest of the transaction, of the statements sent without waiting (Statement::Send,
  // SendAhead) after a read only the first goes at once (the server starts on it); the others
  // wait in the client until a result is wanted (a Step, a statement run, the commit or
  // rollback), then go in one write: a few system calls and wake-ups of the server a round
  // trip, not one a statement (PostgreSQL; nothing elsewhere).
  virtual void HoldSends() {}
  // The SQLite request log's index of this connection (request_log.h); null on engines that
  // keep no request log.
  virtual RequestLogIndex* request_log_index() { return nullptr; }

  // Engines call NoteRetryable() when a statement failed in a way that running the whole
  // transaction again may cure (serialization failure, deadlock, busy); Database::Write asks.
  void NoteRetryable() { retryable_ = true; }
  bool TakeRetryable() { return std::exchange(retryable_, false); }
  bool retryable() const { return retryable_; }

 private:
  bool retryable_ = false;
};

// How many connections a database keeps: SQLite allows one writer beside many readers (WAL);
// PostgreSQL takes reads and writes on any of `writers` connections (shared pool).
struct PoolShape {
  int writers = 1;
  int readers = 4;
  bool shared = false;  // readers and writers draw from one pool of `writers` connections
};

class Connector {
 public:
  virtual ~Connector() = default;
  virtual Engine engine() const = 0;
  virtual PoolShape pool_shape() const = 0;
  // Opens a connection. UNAVAILABLE when the database cannot be reached (the caller retries
  // with backoff); another code when retrying cannot help.
  virtual absl::StatusOr<std::unique_ptr<Connection>> Connect(bool read_only) = 0;
  // Where the database is, without secrets (for logs and messages).
  virtual std::string Describe() const = 0;
};

}  // namespace dorset::runtime::storage

#endif  // DORSET_RUNTIME_STORAGE_ENGINE_H_
