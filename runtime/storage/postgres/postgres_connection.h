// Inside the PostgreSQL engine (postgres_engine.h): one libpq connection of the pool, shared by
// the engine's two halves: the connection's transactions, pipelines and error mapping
// (postgres_engine.cc) and its prepared statements (postgres_statement.cc, which also holds
// PostgresConnection::Prepare). Internal to the engine:
//   ASSIGN_OR_RETURN(Result result, connection->ExecPrepared(name, n, values, lengths, ...));
//   RETURN_IF_ERROR(connection->SendPrepared(name, n, values, lengths, ...));  // pipelined
#ifndef DORSET_RUNTIME_STORAGE_POSTGRES_POSTGRES_CONNECTION_H_
#define DORSET_RUNTIME_STORAGE_POSTGRES_POSTGRES_CONNECTION_H_

#include <libpq-fe.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "runtime/storage/engine.h"

namespace dorset::runtime::storage {

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

class PostgresConnection : public Connection {
 public:
  PostgresConnection(PGconn* conn, bool pipeline_begin)
      : conn_(conn), pipeline_begin_(pipeline_begin) {}
  ~PostgresConnection() override { PQfinish(conn_); }

  absl::Status Begin(TransactionMode mode) override;
  // The queue's lock goes in the pipeline before BEGIN and the first statement (one round trip
  // for the three), and its release in one with COMMIT or ROLLBACK.
  absl::Status BeginQueued(TransactionMode mode, int64_t queue) override;
  absl::Status Commit() override;
  void Rollback() override;
  absl::Status Exec(std::string_view sql) override;
  // With BEGIN pipelined (pipeline_begin): kept and sent in the pipeline of the next statement,
  // after BEGIN (postgres_engine.cc); otherwise Exec.
  absl::Status ExecDeferred(std::string_view sql) override;
  bool deferred_failed() const override { return deferred_failed_; }
  // Prepared once per connection; in postgres_statement.cc with the statement it returns.
  absl::StatusOr<std::unique_ptr<StatementBackend>> Prepare(std::string_view sql) override;
  bool broken() const override { return broken_ || PQstatus(conn_) == CONNECTION_BAD; }
  bool lost_before_begin() const override { return lost_before_begin_; }

  // Runs prepared statement `name` with its parameters. When BEGIN is still to be sent, or
  // statements were sent before (SendPrepared), it joins them in one pipeline: one round trip
  // for all. The statement's result, or the first error (BEGIN's, an earlier statement's, or
  // its own; the server skips the statements after a failure).
  absl::StatusOr<Result> ExecPrepared(const std::string& name, int n, const char* const* values,
                                      const int* lengths, const int* formats,
                                      std::string_view context);

  // Sends prepared statement `name` into the connection's pipeline without waiting for its
  // result (Statement::Send), BEGIN first when it is still to be sent. Flushed at once, so the
  // server works on it while the caller goes on, unless HoldSends; Drain() reads the results.
  absl::Status SendPrepared(const std::string& name, int n, const char* const* values,
                            const int* lengths, const int* formats, std::string_view context);

  // SendPrepared, the result kept (Statement::SendAhead): the ticket that TakeAhead gives it back
  // for. Results are read with the pipeline's (Drain, by whichever use of the connection comes
  // first) and kept until taken, dropped or the next transaction.
  absl::StatusOr<uint64_t> SendAhead(const std::string& name, int n, const char* const* values,
                                     const int* lengths, const int* formats,
                                     std::string_view context);
  // The result of statement `ticket` sent ahead, reading the pipeline first when it is still in
  // it; its error, or the earlier failure that made the server skip it.
  absl::StatusOr<Result> TakeAhead(uint64_t ticket);
  // Its result is not wanted (read later with the pipeline's, it is discarded).
  void DropAhead(uint64_t ticket);
  uint64_t failed_statements() const override { return failed_statements_; }
  // SendPrepared then sends the first statement after a read at once and leaves the others in
  // libpq's buffer (it flushes past 64 kB on its own); the next read of the pipeline (Drain,
  // CommitInPipeline) sends them with its sync point.
  void HoldSends() override { hold_sends_ = true; }

  PGconn* conn() { return conn_; }
  // The status of a finished command: OK, or the mapped error (noting a retryable one, a lost
  // connection and the transaction's first error).
  absl::Status Check(const PGresult* result, std::string_view context);

 private:
  struct Prepared {
    std::string name;
    int params;
  };

  // Ends the pipeline of statements sent (SendPrepared) and reads their results: OK, or the
  // first failure (the statements after it were skipped by the server). Nothing to do when no
  // statement was sent. Every other use of the connection drains first.
  absl::Status Drain(Result* last = nullptr);
  // The next result of a pipeline, past the NULL that ends each statement's results; nullptr
  // when the connection is gone (two NULLs in a row, or a bad connection).
  Result NextPipelineResult();
  // Lost(), and the transaction's statements ran unless its BEGIN was in the pipeline.
  absl::Status LostInPipeline(std::string_view what);

  void ResetTransaction();  // a new transaction's state: no error, nothing pending
  absl::Status BeginWith(const char* begin);
  absl::Status SendPendingBegin();
  // Ends the transaction with `end` (COMMIT or ROLLBACK) and releases the queue's lock, in one
  // pipeline with a sync point after each, so that the release runs whatever `end` did. `end`'s
  // status; a release that fails leaves the connection broken, so the pool closes it (and the
  // server releases the lock with it).
  absl::Status EndAndRelease(const char* end);
  // Commit when statements were sent and not read yet: COMMIT and the queue's release join
  // their pipeline (one round trip). The first failure among them, or COMMIT's.
  absl::Status CommitInPipeline();
  // Each of `sql` run in one pipeline, each in a sync segment of its own (a failure skips
  // nothing after it); their statuses in order.
  std::vector<absl::Status> ExecEach(std::initializer_list<std::string_view> sql);
  // The connection is unusable (a pipeline could not be sent or read back whole).
  absl::Status Lost(std::string_view what);

  PGconn* conn_;
  const bool pipeline_begin_;
  std::string pending_begin_;  // BEGIN not sent yet: it goes with the first statement
  // ExecDeferred's statements not sent yet, in order: they go with the next statement (after
  // BEGIN), or before the next Exec.
  std::vector<std::string> deferred_;
  std::vector<size_t> deferred_sent_;  // their places in sent_
  bool deferred_failed_ = false;
  bool pipeline_ = false;     // statements sent (SendPrepared) whose results are not read yet
  std::string pending_lock_;  // the queue's lock, not sent yet: it goes before pending_begin_
  std::string release_;       // the queue's unlock, once its lock was sent in this transaction
  bool begin_in_pipeline_ = false;
  bool hold_sends_ = false;  // HoldSends, until the next transaction
  int inner_syncs_ = 0;      // sync points sent inside the pipeline, before Drain's own
  bool unqueued_ =
      false;  // the queue's lock failed in the pipeline: the transaction may not commit
  std::vector<std::string> sent_;  // what each sent statement was (for error messages)
  bool lost_before_begin_ = false;
  bool broken_ = false;
  absl::Status tx_error_;
  uint64_t failed_statements_ = 0;  // every failure Check saw
  // Statements sent ahead (SendAhead): those in the pipeline (their places in sent_, and tickets),
  // and the results read and not taken yet, by ticket.
  uint64_t last_ticket_ = 0;
  std::vector<std::pair<size_t, uint64_t>> ahead_sent_;
  struct AheadResult {
    absl::Status status;  // its failure (then no result)
    Result result;
  };
  absl::flat_hash_map<uint64_t, AheadResult> ahead_;
  absl::flat_hash_map<std::string, Prepared> prepared_;
};

}  // namespace dorset::runtime::storage

#endif  // DORSET_RUNTIME_STORAGE_POSTGRES_POSTGRES_CONNECTION_H_
