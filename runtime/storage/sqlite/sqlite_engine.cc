#include "runtime/storage/sqlite/sqlite_engine.h"

#include <sqlite3.h>

#include <vector>

#include "absl/container/flat_hash_map.h"
#include "runtime/base/string_view.h"
#include "runtime/sqlite/database.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/request_log.h"

namespace dorset::runtime::storage {
namespace {

class SqliteConnection;

// A cached runtime/sqlite Statement lent to one Statement handle at a time.
struct CachedStatement {
  sqlite::Statement statement;
  bool in_use = false;
};

class SqliteStatement : public StatementBackend {
 public:
  SqliteStatement(SqliteConnection* connection, CachedStatement* cached,
                  std::unique_ptr<sqlite::Statement> owned)
      : connection_(connection), cached_(cached), owned_(std::move(owned)) {}
  ~SqliteStatement() override;

  void BindInt(int index, int64_t value) override { stmt().Bind(index, value); }
  void BindText(int index, std::string_view text) override { stmt().Bind(index, text); }
  void BindBlob(int index, std::string_view bytes) override { stmt().BindBlob(index, bytes); }
  void BindNull(int index) override { stmt().BindNull(index); }
  void BindTextKept(int index, std::string_view text) override { stmt().BindKept(index, text); }
  void BindBlobKept(int index, std::string_view bytes) override {
    stmt().BindBlobKept(index, bytes);
  }
  absl::StatusOr<bool> Step() override;
  void Reset() override {
    stmt().Reset();
    changes_ = 0;
  }
  int64_t Changes() const override { return changes_; }
  bool IsNull(int column) const override { return stmt().IsNull(column); }
  int64_t Int(int column) const override { return stmt().Int(column); }
  std::string Text(int column) const override { return stmt().Text(column); }
  std::string Blob(int column) const override { return stmt().Blob(column); }

 private:
  sqlite::Statement& stmt() const { return owned_ ? *owned_ : cached_->statement; }

  SqliteConnection* connection_;
  CachedStatement* cached_;                   // the connection's, or null when owned_
  std::unique_ptr<sqlite::Statement> owned_;  // a second use of a statement already lent
  int64_t changes_ = 0;
};

class SqliteConnection : public Connection {
 public:
  SqliteConnection(std::unique_ptr<sqlite::Database> db,
                   std::shared_ptr<sqlite::WalCheckpointer> checkpointer, RequestLogIndex index)
      : checkpointer_(std::move(checkpointer)), db_(std::move(db)), index_(std::move(index)) {}

  absl::Status Begin(TransactionMode mode) override {
    return Check(db_->BeginTransaction(/*immediate=*/mode != TransactionMode::kRead));
  }
  absl::Status Commit() override {
    absl::Status status = Check(db_->CommitTransaction());
    if (!status.ok()) Rollback();  // a busy COMMIT leaves the transaction open
    return status;
  }
  void Rollback() override { (void)db_->RollbackTransaction(); }
  absl::Status Exec(std::string_view sql) override { return Check(db_->Exec(sql)); }
  absl::StatusOr<std::unique_ptr<StatementBackend>> Prepare(std::string_view sql) override;
  bool broken() const override { return false; }
  RequestLogIndex* request_log_index() override { return &index_; }
  std::optional<int64_t> CompletedChanges() const override {
    return sqlite3_total_changes64(db_->handle());
  }
  bool InTransaction() const override { return sqlite3_get_autocommit(db_->handle()) == 0; }

  // Notes a busy database as retryable; passes `status` on.
  absl::Status Check(absl::Status status) {
    if (!status.ok()) {
      const int rc = sqlite3_errcode(db_->handle());
      if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) NoteRetryable();
    }
    return status;
  }
  int64_t Changes() const { return sqlite3_changes64(db_->handle()); }

 private:
  // Statements kept per SQL text. A text may be in use more than once at a time (a writer's
  // one-row statement and a multi-row insert of one row share their text), so each text keeps
  // up to kCopiesPerText copies; a use beyond that prepares a statement of its own.
  static constexpr size_t kCopiesPerText = 4;
  // A writer's: its wal hook points there, so it outlives db_ (declared first).
  std::shared_ptr<sqlite::WalCheckpointer> checkpointer_;
  std::unique_ptr<sqlite::Database> db_;
  absl::flat_hash_map<std::string, std::vector<std::unique_ptr<CachedStatement>>> cache_;
  RequestLogIndex index_;  // what this connection knows of the request log
};

SqliteStatement::~SqliteStatement() {
  if (cached_ != nullptr) {
    cached_->statement.Reset();
    cached_->in_use = false;
  }
}

absl::StatusOr<bool> SqliteStatement::Step() {
  absl::StatusOr<bool> row = stmt().Step();
  if (!row.ok()) return connection_->Check(row.status());
  if (!*row) changes_ = connection_->Changes();
  return row;
}

absl::StatusOr<std::unique_ptr<StatementBackend>> SqliteConnection::Prepare(std::string_view sql) {
  auto it = cache_.find(ToAbsl(sql));
  if (it == cache_.end()) {
    it = cache_.emplace(std::string(sql), std::vector<std::unique_ptr<CachedStatement>>()).first;
  }
  std::vector<std::unique_ptr<CachedStatement>>& copies = it->second;
  for (const std::unique_ptr<CachedStatement>& cached : copies) {
    if (!cached->in_use) {
      cached->in_use = true;
      return std::make_unique<SqliteStatement>(this, cached.get(), nullptr);
    }
  }
  absl::StatusOr<sqlite::Statement> prepared = db_->Prepare(sql);
  if (!prepared.ok()) return Check(prepared.status());
  if (copies.size() < kCopiesPerText) {
    copies.push_back(std::make_unique<CachedStatement>(CachedStatement{*std::move(prepared)}));
    copies.back()->in_use = true;
    return std::make_unique<SqliteStatement>(this, copies.back().get(), nullptr);
  }
  return std::make_unique<SqliteStatement>(
      this, nullptr, std::make_unique<sqlite::Statement>(*std::move(prepared)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Connection>> SqliteConnector::Connect(bool read_only) {
  sqlite::OpenOptions open;
  open.busy_timeout_ms = options_.busy_timeout_ms;
  // Readers open read-write (a read-only open fails before the writer created the file) and
  // are kept from writing by query_only.
  ASSIGN_OR_RETURN(std::unique_ptr<sqlite::Database> db, sqlite::Database::Open(path_, open));
  if (read_only) RETURN_IF_ERROR(db->Exec("PRAGMA query_only=ON"));
  if (options_.secure_delete) RETURN_IF_ERROR(db->Exec("PRAGMA secure_delete=ON"));
  std::shared_ptr<sqlite::WalCheckpointer> checkpointer;
  if (!read_only) {
    absl::MutexLock lock(&mu_);
    if (checkpointer_ == nullptr) {
      ASSIGN_OR_RETURN(checkpointer_, sqlite::WalCheckpointer::Start(path_, options_.checkpoint));
    }
    checkpointer = checkpointer_;
    checkpointer->Attach(db->handle());
  }
  return std::make_unique<SqliteConnection>(
      std::move(db), std::move(checkpointer),
      RequestLogIndex{.merge_at = options_.request_log_merge_at,
                      .read_only = read_only,
                      .seq_of = {},
                      .seen_through = -1,
                      .appended = {}});
}

sqlite::CheckpointCounts SqliteConnector::checkpoint_counts() {
  absl::MutexLock lock(&mu_);
  return checkpointer_ != nullptr ? checkpointer_->counts() : sqlite::CheckpointCounts{};
}

}  // namespace dorset::runtime::storage
