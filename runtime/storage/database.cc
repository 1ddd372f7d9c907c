#include "runtime/storage/database.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/migrations.h"

namespace dorset::runtime::storage {
namespace {

// How long a disk-full fault keeps readiness down without a new failure or a good write; after
// it, a probe tests the database again (a store written rarely has no other way to clear it).
constexpr absl::Duration kResourceFaultHold = absl::Seconds(30);
// Health() answers from memory when the database answered this recently.
constexpr absl::Duration kHealthProbeInterval = absl::Seconds(1);

bool IsStorageFault(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable ||
         status.code() == absl::StatusCode::kResourceExhausted;
}

void SleepJittered(absl::Duration upper) {
  thread_local absl::BitGen gen;
  absl::SleepFor(upper / 2 +
                 absl::Nanoseconds(absl::Uniform<int64_t>(
                     gen, 0, std::max<int64_t>(1, absl::ToInt64Nanoseconds(upper / 2)))));
}

// A StatusOr<Status> takes a Status as its value (a part's own outcome), so a `return status`
// there never fails the transaction: a failure of the transaction itself goes in as the error by
// way of a type that only converts to a Status.
absl::StatusOr<absl::Status> Doomed(absl::Status status) {
  struct Failure {
    absl::Status status;
    operator absl::Status() const { return status; }  // NOLINT(google-explicit-constructor)
  };
  return Failure{std::move(status)};
}

}  // namespace

absl::StatusOr<Statement> Transaction::Prepare(std::string_view sql) {
  ASSIGN_OR_RETURN(std::unique_ptr<StatementBackend> backend, connection_.Prepare(sql));
  return Statement(std::move(backend));
}

absl::StatusOr<absl::Status> Transaction::InSavepoint(absl::FunctionRef<absl::Status()> fn) {
  // On SQLite the three statements run from the connection's prepared-statement cache: parsing
  // them for every part cost more than some of the part's own statements (a group of
  // CreateResponse runs one part per response).
  // On PostgreSQL SAVEPOINT and RELEASE are deferred (Connection::ExecDeferred): each goes in
  // the pipeline of the next statement, so a part whose one statement succeeds costs one round
  // trip, not three (issue 16, bench/README.md "Session 20"); ROLLBACK TO is sent at once.
  const auto exec = [this](std::string_view sql, bool defer) -> absl::Status {
    if (engine_ != Engine::kSqlite) {
      return defer ? connection_.ExecDeferred(sql) : connection_.Exec(sql);
    }
    ASSIGN_OR_RETURN(Statement statement, Prepare(sql));
    return statement.Run();
  };
  if (absl::Status begun = exec("SAVEPOINT dorset_part", true); !begun.ok()) {
    return Doomed(begun);
  }
  absl::Status status = fn();
  if (!status.ok()) {
    if (connection_.retryable() || connection_.broken() || connection_.deferred_failed()) {
      return Doomed(std::move(status));
    }
    if (absl::Status undone = exec("ROLLBACK TO SAVEPOINT dorset_part", false); !undone.ok()) {
      return Doomed(undone);
    }
  }
  if (absl::Status released = exec("RELEASE SAVEPOINT dorset_part", true); !released.ok()) {
    return Doomed(released);
  }
  return status;
}

absl::StatusOr<absl::Status> Transaction::InOneWritePart(absl::FunctionRef<absl::Status()> fn) {
  const std::optional<int64_t> before = connection_.CompletedChanges();
  if (!before.has_value()) return InSavepoint(fn);
  absl::Status status = fn();
  if (status.ok()) return status;
  if (connection_.retryable() || connection_.broken()) return Doomed(std::move(status));
  if (!connection_.InTransaction()) {
    return Doomed(absl::Status(
        status.code(), absl::StrCat("the database ended the transaction: ", status.message())));
  }
  if (connection_.CompletedChanges() != before) {
    return Doomed(absl::InternalError(
        absl::StrCat("a part without a savepoint failed after it wrote: ", status.message())));
  }
  return status;  // the failed statement, if any, undid itself
}

absl::StatusOr<absl::Status> Transaction::InPartWritingLater(absl::FunctionRef<absl::Status()> fn) {
  if (engine_ == Engine::kSqlite) return InOneWritePart(fn);
  const uint64_t failed_before = connection_.failed_statements();
  absl::Status status = fn();
  if (connection_.failed_statements() != failed_before) {
    // The server aborted the transaction: nothing after may run, whatever `fn` made of it.
    return Doomed(status.ok() ? absl::InternalError("a statement of a part failed") : status);
  }
  if (status.ok()) return status;
  if (connection_.retryable() || connection_.broken() || connection_.deferred_failed()) {
    return Doomed(std::move(status));
  }
  return status;  // refused by the part's own checks: nothing to undo
}

Database::Database(std::unique_ptr<Connector> connector, DatabaseOptions options)
    : connector_(std::move(connector)), engine_(connector_->engine()), options_(options) {
  const PoolShape shape = connector_->pool_shape();
  writers_ = std::make_unique<ConnectionPool>(connector_.get(), shape.writers,
                                              /*read_only=*/false, options_.reconnect_backoff);
  if (!shape.shared) {
    readers_ = std::make_unique<ConnectionPool>(connector_.get(), shape.readers,
                                                /*read_only=*/true, options_.reconnect_backoff);
  }
}

Database::~Database() = default;

absl::StatusOr<std::unique_ptr<Database>> Database::Open(std::unique_ptr<Connector> connector,
                                                         DatabaseOptions options) {
  RETURN_IF_ERROR(CheckSequence(options.migrations));
  std::unique_ptr<Database> db(new Database(std::move(connector), options));  // private
  // Away at start is not fatal: Health() says so and the next contact migrates.
  if (absl::Status status = db->EnsureMigrated(); !status.ok() && !IsStorageFault(status)) {
    return status;
  }
  return db;
}

absl::Status Database::Write(TransactionFn fn) {
  RETURN_IF_ERROR(EnsureMigrated());
  return Run(TransactionMode::kWrite, fn);
}

absl::Status Database::WriteQueued(int64_t queue, TransactionFn fn) {
  RETURN_IF_ERROR(EnsureMigrated());
  return Run(TransactionMode::kWrite, fn, engine_ == Engine::kPostgres ? queue : 0);
}

absl::Status Database::Read(TransactionFn fn) {
  RETURN_IF_ERROR(EnsureMigrated());
  return Run(TransactionMode::kRead, fn);
}

absl::StatusOr<std::unique_ptr<Connection>> Database::ConnectOwn() {
  RETURN_IF_ERROR(EnsureMigrated());
  return connector_->Connect(/*read_only=*/false);
}

absl::Status Database::Run(TransactionMode mode, TransactionFn fn, int64_t queue) {
  ConnectionPool& pool = mode == TransactionMode::kRead && readers_ ? *readers_ : *writers_;
  const int max_stale =
      std::max(connector_->pool_shape().writers, connector_->pool_shape().readers) + 1;
  absl::Duration backoff = options_.retry_backoff.initial;
  int attempts = 0;
  int stale = 0;
  absl::Status status;
  while (true) {
    bool retry = false;
    bool fresh_connection_may_help = false;
    status = RunOnce(pool, mode, fn, queue, retry, fresh_connection_may_help);
    if (status.ok()) break;
    // A pooled connection that died while idle (the server restarted) fails at BEGIN, before
    // anything was sent: take the next one, or open a new one.
    if (fresh_connection_may_help && ++stale <= max_stale) continue;
    if (retry && ++attempts < options_.max_attempts) {
      retries_.fetch_add(1, std::memory_order_relaxed);
      SleepJittered(backoff);
      backoff = std::min(backoff * 2, options_.retry_backoff.max);
      continue;
    }
    if (retry) {
      status = absl::AbortedError(
          absl::StrCat("transaction gave up after ", attempts, " attempts: ", status.message()));
    }
    break;
  }
  NoteOutcome(status);
  return status;
}

absl::Status Database::RunOnce(ConnectionPool& pool, TransactionMode mode, TransactionFn fn,
                               int64_t queue, bool& retry, bool& fresh_connection_may_help) {
  ASSIGN_OR_RETURN(ConnectionPool::Lease connection, pool.Acquire());
  connection->TakeRetryable();
  // PostgreSQL only (WriteQueued): the queue's lock is taken before BEGIN, and Commit or
  // Rollback below releases it (a lost connection's locks are released by the server).
  if (absl::Status begun =
          queue != 0 ? connection->BeginQueued(mode, queue) : connection->Begin(mode);
      !begun.ok()) {
    fresh_connection_may_help = connection->broken();
    retry = connection->TakeRetryable();
    return begun;
  }
  Transaction tx(*connection, engine_);
  absl::Status status = fn(tx);
  if (status.ok()) {
    status = connection->Commit();  // the engine rolls back when COMMIT fails
  } else {
    connection->Rollback();
  }
  retry = connection->TakeRetryable();
  if (!status.ok() && connection->lost_before_begin()) fresh_connection_may_help = true;
  return status;
}

void Database::NoteOutcome(const absl::Status& status) {
  absl::MutexLock lock(&mu_);
  if (status.ok()) {
    last_failure_ = absl::OkStatus();
    last_ok_ = absl::Now();
  } else if (IsStorageFault(status)) {
    last_failure_ = status;
    last_failure_at_ = absl::Now();
  }
}

absl::Status Database::EnsureMigrated() {
  {
    absl::MutexLock lock(&mu_);
    if (migrated_) return absl::OkStatus();
    if (!permanent_error_.ok()) return permanent_error_;
  }
  absl::MutexLock one_at_a_time(&migrate_mu_);
  {
    absl::MutexLock lock(&mu_);
    if (migrated_) return absl::OkStatus();
  }
  absl::Status status = absl::OkStatus();
  if (!options_.migrations.empty()) {
    status = Run(TransactionMode::kMigrate, [&](Transaction& tx) {
      return ApplyMigrations(tx, options_.migrations, options_.migrations_table);
    });
  }
  absl::MutexLock lock(&mu_);
  if (status.ok()) {
    migrated_ = true;
  } else if (!IsStorageFault(status) && status.code() != absl::StatusCode::kAborted) {
    permanent_error_ = status;
  }
  return status;
}

absl::Status Database::Health() {
  {
    absl::MutexLock lock(&mu_);
    if (!permanent_error_.ok()) return permanent_error_;
    const absl::Time now = absl::Now();
    if (last_failure_.code() == absl::StatusCode::kResourceExhausted &&
        now - last_failure_at_ < kResourceFaultHold) {
      return last_failure_;
    }
    if (last_failure_.ok() && now - last_ok_ < kHealthProbeInterval) return absl::OkStatus();
  }
  // Probe: a read costs a round trip and reconnects when the database is back.
  return Read([](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(Statement probe, tx.Prepare("SELECT 1"));
    return probe.Run();
  });
}

}  // namespace dorset::runtime::storage
