#include "runtime/sqlite/database.h"

#include <sqlite3.h>

#include <cassert>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/sqlite/storage_faults.h"
#include "runtime/sqlite/wal_batch_vfs.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"

namespace dorset::runtime::sqlite {
namespace {
absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }

absl::Status StorageError(sqlite3* db, int rc, std::string_view detail) {
  const char* file = db ? sqlite3_db_filename(db, "main") : nullptr;
  const std::string name = file != nullptr && file[0] != '\0'
                               ? std::filesystem::path(file).filename().string()
                               : "store";
  // The statement is left out: the caller learns what failed, not our SQL.
  if ((rc & 0xff) == SQLITE_FULL) {
    return ResourceExhausted(absl::StrCat(name, " is full (", Sv(detail), "); retry later"),
                             absl::Seconds(5));
  }
  return absl::UnavailableError(
      absl::StrCat(name, " cannot be written (", Sv(detail), "); retry later"));
}

// SQLite binds a null pointer as SQL NULL, whatever the length; an empty view (a default one has
// no data pointer, e.g. an empty field unpacked from an audit outbox row) is an empty text, and
// NULL is bound only by BindNull.
const char* TextData(std::string_view text) { return text.data() != nullptr ? text.data() : ""; }

}  // namespace

absl::Status WriteFailure(const absl::Status& cause, std::string_view message) {
  switch (cause.code()) {
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kUnavailable:
      return absl::Status(cause.code(), absl::StrCat(Sv(message), ": ", cause.message()));
    default:
      return Internal(message);
  }
}

absl::Status SqliteError(sqlite3* db, int rc, std::string_view context) {
  const char* detail = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  std::string message = absl::StrCat(Sv(context), ": ", detail);
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return absl::AlreadyExistsError(message);
      }
      return absl::FailedPreconditionError(message);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(message);
    // The storage faults: every service answers them the same (docs/operations.md), the
    // caller may retry later with the same request_id, and readiness reports them.
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_READONLY: {
      absl::Status status = StorageError(db, rc, detail);
      const char* file = db ? sqlite3_db_filename(db, "main") : nullptr;
      if (file != nullptr && file[0] != '\0') NoteStorageFault(file, status);
      return status;
    }
    default:
      return absl::InternalError(message);
  }
}

Statement::Statement(Statement&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)),
      stmt_(std::exchange(other.stmt_, nullptr)),
      bind_error_(other.bind_error_) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    db_ = std::exchange(other.db_, nullptr);
    stmt_ = std::exchange(other.stmt_, nullptr);
    bind_error_ = other.bind_error_;
  }
  return *this;
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

void Statement::RecordBindError(int rc) {
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
}

Statement& Statement::Bind(int index, int64_t value) {
  RecordBindError(sqlite3_bind_int64(stmt_, index, value));
  return *this;
}

Statement& Statement::Bind(int index, std::string_view text) {
  RecordBindError(sqlite3_bind_text64(stmt_, index, TextData(text), text.size(), SQLITE_TRANSIENT,
                                      SQLITE_UTF8));
  return *this;
}

Statement& Statement::BindBlob(int index, std::string_view bytes) {
  RecordBindError(sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT));
  return *this;
}

Statement& Statement::BindKept(int index, std::string_view text) {
  RecordBindError(
      sqlite3_bind_text64(stmt_, index, TextData(text), text.size(), SQLITE_STATIC, SQLITE_UTF8));
  return *this;
}

Statement& Statement::BindBlobKept(int index, std::string_view bytes) {
  RecordBindError(sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_STATIC));
  return *this;
}

Statement& Statement::BindNull(int index) {
  RecordBindError(sqlite3_bind_null(stmt_, index));
  return *this;
}

Statement& Statement::Bind(int index, const std::optional<int64_t>& value) {
  return value ? Bind(index, *value) : BindNull(index);
}

Statement& Statement::Bind(int index, const std::optional<std::string>& value) {
  return value ? Bind(index, std::string_view(*value)) : BindNull(index);
}

absl::StatusOr<bool> Statement::Step() {
  if (bind_error_ != 0) return SqliteError(db_, bind_error_, "bind");
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  // sqlite3_step returns the extended code only with extended codes enabled (we enable them).
  return SqliteError(db_, rc, sqlite3_sql(stmt_));
}

absl::Status Statement::Run() {
  ASSIGN_OR_RETURN(bool row, Step());
  (void)row;
  return absl::OkStatus();
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_error_ = 0;
}

bool Statement::IsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}
int64_t Statement::Int(int column) const { return sqlite3_column_int64(stmt_, column); }
std::string Statement::Text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text), sqlite3_column_bytes(stmt_, column));
}
std::optional<int64_t> Statement::OptionalInt(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Int(column);
}
std::optional<std::string> Statement::OptionalText(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Text(column);
}
std::string Statement::Blob(int column) const {
  const void* blob = sqlite3_column_blob(stmt_, column);
  if (blob == nullptr) return {};
  return std::string(static_cast<const char*>(blob), sqlite3_column_bytes(stmt_, column));
}

absl::StatusOr<std::unique_ptr<Database>> Database::Open(const std::string& path,
                                                         OpenOptions options) {
  sqlite3* raw = nullptr;
  const int flags =
      (options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
      SQLITE_OPEN_NOMUTEX;
  // With synchronous=FULL a transaction's WAL writes go out in one call at its sync
  // (wal_batch_vfs.h); the VFS is safe only there.
  const char* vfs = options.full_sync ? WalBatchVfsName() : nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, vfs);
  std::unique_ptr<Database> db(new Database(raw, path));  // private constructor
  if (rc != SQLITE_OK) return SqliteError(raw, rc, absl::StrCat("open ", path));
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, options.busy_timeout_ms);
  if (!options.read_only) {
    RETURN_IF_ERROR(db->Exec("PRAGMA journal_mode=WAL"));
  }
  RETURN_IF_ERROR(db->Exec(options.full_sync
                               ? "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
                               : "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"));
  return db;
}

Database::~Database() {
  for (sqlite3_stmt* stmt : kept_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

absl::Status Database::RunKept(Kept which) {
  static constexpr std::string_view kSql[kKeptCount] = {"BEGIN IMMEDIATE", "BEGIN DEFERRED",
                                                        "COMMIT", "ROLLBACK"};
  sqlite3_stmt*& stmt = kept_[which];
  if (stmt == nullptr) {
    const std::string_view sql = kSql[which];
    const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return SqliteError(db_, rc, "exec");
  }
  const int rc = sqlite3_step(stmt);
  // The error is read before the reset, which leaves the transaction as the step did (a busy
  // COMMIT keeps it open, as with Exec).
  absl::Status status = rc == SQLITE_DONE ? absl::OkStatus() : SqliteError(db_, rc, "exec");
  sqlite3_reset(stmt);
  return status;
}

absl::Status Database::BeginTransaction(bool immediate) {
  return RunKept(immediate ? kBeginImmediate : kBeginDeferred);
}
absl::Status Database::CommitTransaction() { return RunKept(kCommit); }
absl::Status Database::RollbackTransaction() { return RunKept(kRollback); }

absl::Status Database::Exec(std::string_view sql) {
  char* error = nullptr;
  const std::string owned(sql);
  const int rc = sqlite3_exec(db_, owned.c_str(), nullptr, nullptr, &error);
  if (rc != SQLITE_OK) {
    sqlite3_free(error);
    return SqliteError(db_, rc, "exec");
  }
  return absl::OkStatus();
}

absl::StatusOr<Statement> Database::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, absl::StrCat("prepare ", Sv(sql)));
  return Statement(db_, stmt);
}

absl::StatusOr<int> Database::SchemaVersion() {
  ASSIGN_OR_RETURN(Statement stmt, Prepare("PRAGMA user_version"));
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return absl::InternalError("PRAGMA user_version returned no row");
  return static_cast<int>(stmt.Int(0));
}

absl::Status Database::Migrate(std::span<const Migration> migrations) {
  ASSIGN_OR_RETURN(int current, SchemaVersion());
  int expected = 1;
  for (const Migration& m : migrations) {
    if (m.version != expected++) {
      return absl::InternalError(absl::StrCat("migration ", m.version, " is out of sequence"));
    }
  }
  if (current > static_cast<int>(migrations.size())) {
    return absl::FailedPreconditionError(
        absl::StrCat("store schema version ", current, " is newer than this binary knows (",
                     migrations.size(), "): refusing to run an older binary on it"));
  }
  for (const Migration& m : migrations) {
    if (m.version <= current) continue;
    ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*this));
    RETURN_IF_ERROR(Annotate(Exec(m.sql), absl::StrCat("migration ", m.version)));
    RETURN_IF_ERROR(Exec(absl::StrCat("PRAGMA user_version = ", m.version)));
    RETURN_IF_ERROR(tx.Commit());
  }
  return absl::OkStatus();
}

int64_t Database::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }
int Database::Changes() const { return sqlite3_changes(db_); }

absl::StatusOr<Transaction> Transaction::Begin(Database& db) {
  RETURN_IF_ERROR(db.BeginTransaction(/*immediate=*/true));
  return Transaction(&db);
}

absl::StatusOr<Transaction> Transaction::BeginDeferred(Database& db) {
  RETURN_IF_ERROR(db.BeginTransaction(/*immediate=*/false));
  return Transaction(&db);
}

Transaction::~Transaction() {
  if (db_ != nullptr) (void)db_->RollbackTransaction();
}

absl::Status Transaction::Commit() {
  assert(db_ != nullptr && "Commit() called twice");
  absl::Status status = db_->CommitTransaction();
  if (!status.ok()) return status;  // the destructor rolls back
  const char* file = sqlite3_db_filename(db_->handle(), "main");
  if (file != nullptr && file[0] != '\0') NoteStorageWritten(file);
  db_ = nullptr;
  return status;
}

}  // namespace dorset::runtime::sqlite
