// A thin RAII layer over SQLite for the services' embedded stores.
//
// Database owns one connection opened in WAL mode with synchronous=FULL (a committed
// transaction survives power loss and kill -9), foreign keys on and a busy timeout. A
// Database is not thread-safe: a service guards it with its own mutex, or opens one
// connection per thread (WAL allows many readers beside one writer).
//
//   ASSIGN_OR_RETURN(auto db, Database::Open(path));
//   RETURN_IF_ERROR(db->Migrate(kMigrations));
//   ASSIGN_OR_RETURN(Statement stmt, db->Prepare("SELECT name FROM practice WHERE code = ?"));
//   stmt.Bind(1, code);
//   ASSIGN_OR_RETURN(bool row, stmt.Step());
#ifndef DORSET_RUNTIME_SQLITE_DATABASE_H_
#define DORSET_RUNTIME_SQLITE_DATABASE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

struct sqlite3;
struct sqlite3_stmt;

namespace dorset::runtime::sqlite {

// A prepared statement. Bind indexes start at 1 (SQLite's convention), columns at 0.
class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, int value) { return Bind(index, static_cast<int64_t>(value)); }
  Statement& Bind(int index, std::string_view text);
  Statement& Bind(int index, const char* text) { return Bind(index, std::string_view(text)); }
  Statement& Bind(int index, const std::string& text) {
    return Bind(index, std::string_view(text));
  }
  Statement& BindBlob(int index, std::string_view bytes);
  // As Bind/BindBlob without copying (SQLITE_STATIC): the bytes must stay unchanged until the
  // statement is reset (issue 16: a multi-row INSERT's 64 rows copied and freed every value).
  Statement& BindKept(int index, std::string_view text);
  Statement& BindBlobKept(int index, std::string_view bytes);
  Statement& BindNull(int index);
  // Binds NULL when `value` is empty.
  Statement& Bind(int index, const std::optional<int64_t>& value);
  Statement& Bind(int index, const std::optional<std::string>& value);

  // Advances: true when a row is ready, false when done. A constraint violation comes back
  // as ALREADY_EXISTS (unique/primary key) or FAILED_PRECONDITION (other constraints).
  absl::StatusOr<bool> Step();
  // Runs a statement that returns no rows.
  absl::Status Run();
  // Clears bindings and rewinds, so the statement can run again.
  void Reset();

  bool IsNull(int column) const;
  int64_t Int(int column) const;
  std::string Text(int column) const;
  std::optional<int64_t> OptionalInt(int column) const;
  std::optional<std::string> OptionalText(int column) const;
  std::string Blob(int column) const;

 private:
  friend class Database;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  void RecordBindError(int rc);

  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  int bind_error_ = 0;
};

// One numbered schema step. Versions start at 1 and increase by one.
struct Migration {
  int version;
  std::string_view sql;
};

struct OpenOptions {
  int busy_timeout_ms = 5000;
  bool read_only = false;
  // synchronous=FULL: a commit survives power loss. NORMAL (WAL) survives a process crash but
  // may lose the last commits on power loss; only for data written after the fact anyway,
  // such as the audit trail, where it saves an fsync per batch. A FULL connection's WAL
  // writes go out in one call per transaction (wal_batch_vfs.h), and it refuses a later
  // PRAGMA synchronous below FULL.
  bool full_sync = true;
};

class Database {
 public:
  // Opens (creating when absent) the database file at `path` and applies the pragmas.
  static absl::StatusOr<std::unique_ptr<Database>> Open(const std::string& path,
                                                        OpenOptions options = {});
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs one or more statements that return no rows.
  absl::Status Exec(std::string_view sql);
  // BEGIN IMMEDIATE (`immediate`) or BEGIN DEFERRED, COMMIT and ROLLBACK, each from a statement
  // prepared once and kept on the connection: Exec parses the text on every call (issue 16: ~8.5k
  // instructions a BEGIN, once per group commit). Errors as Exec's.
  absl::Status BeginTransaction(bool immediate);
  absl::Status CommitTransaction();
  absl::Status RollbackTransaction();
  absl::StatusOr<Statement> Prepare(std::string_view sql);

  // Applies every migration above the stored user_version, each in its own transaction.
  absl::Status Migrate(std::span<const Migration> migrations);
  absl::StatusOr<int> SchemaVersion();

  int64_t LastInsertRowId() const;
  int Changes() const;
  const std::string& path() const { return path_; }
  sqlite3* handle() { return db_; }

 private:
  Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  enum Kept { kBeginImmediate, kBeginDeferred, kCommit, kRollback, kKeptCount };
  absl::Status RunKept(Kept which);
  sqlite3* db_;
  std::string path_;
  sqlite3_stmt* kept_[kKeptCount] = {};  // prepared on first use, finalized before the close
};

// BEGIN IMMEDIATE on construction; rolls back on destruction unless Commit() succeeded.
// Take the write lock up front so two writers never deadlock upgrading a read lock.
class Transaction {
 public:
  static absl::StatusOr<Transaction> Begin(Database& db);
  // BEGIN DEFERRED: write locks are taken by the first write, on the databases written only.
  // For a connection with a database ATTACHed to read from (BEGIN IMMEDIATE would take the
  // attached database's write lock too), whose main database no other connection writes.
  static absl::StatusOr<Transaction> BeginDeferred(Database& db);
  Transaction(Transaction&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  absl::Status Commit();

 private:
  explicit Transaction(Database* db) : db_(db) {}
  Database* db_;
};

// Maps a SQLite result code to a status with `context` in the message. The one place storage
// faults get their code, so every service answers them alike: SQLITE_FULL (disk or page limit)
// is RESOURCE_EXHAUSTED with RetryInfo, SQLITE_IOERR and SQLITE_READONLY are UNAVAILABLE; each
// is also noted for readiness (storage_faults.h). Busy/locked is UNAVAILABLE, unique-key
// violations ALREADY_EXISTS, other constraints FAILED_PRECONDITION, the rest INTERNAL.
absl::Status SqliteError(sqlite3* db, int rc, std::string_view context);

// The answer for a write that failed as a whole (a group commit): keeps a storage fault's or a
// busy store's code (RESOURCE_EXHAUSTED / UNAVAILABLE) with `message` in front, and makes
// anything else INTERNAL with `message` only.
absl::Status WriteFailure(const absl::Status& cause, std::string_view message);

}  // namespace dorset::runtime::sqlite

#endif  // DORSET_RUNTIME_SQLITE_DATABASE_H_
