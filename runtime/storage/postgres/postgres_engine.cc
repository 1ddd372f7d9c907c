// The PostgreSQL engine (postgres_engine.h): connecting, and each connection's transactions
// (BEGIN sent with the first statement in one pipeline), pipelines of statements sent without
// waiting, and libpq's errors mapped to statuses. Statements are in postgres_statement.cc.
#include "runtime/storage/postgres/postgres_engine.h"

#include <libpq-fe.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "runtime/base/string_view.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/postgres/postgres_connection.h"
#include "runtime/storage/postgres/sqlstate.h"

namespace dorset::runtime::storage {
namespace {

// pg_advisory_xact_lock key of schema migrations: "dorset" in ASCII.
constexpr const char* kMigrationLock = "SELECT pg_advisory_xact_lock(110429387273588)";

}  // namespace

void PostgresConnection::ResetTransaction() {
  tx_error_ = absl::OkStatus();
  unqueued_ = false;
  lost_before_begin_ = false;
  pending_begin_.clear();
  deferred_.clear();
  deferred_failed_ = false;
  pending_lock_.clear();
  release_.clear();
  ahead_.clear();  // a statement sent ahead in an earlier transaction was never taken
  hold_sends_ = false;
}

absl::Status PostgresConnection::Begin(TransactionMode mode) {
  ResetTransaction();
  switch (mode) {
    case TransactionMode::kRead:
      return BeginWith("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    case TransactionMode::kWrite:
      return BeginWith("BEGIN ISOLATION LEVEL SERIALIZABLE");
    case TransactionMode::kMigrate:
      // READ COMMITTED: after the lock, the next statement sees what a migrating process
      // before us committed (a SERIALIZABLE snapshot would be taken before the wait).
      if (absl::Status s = Exec("BEGIN ISOLATION LEVEL READ COMMITTED"); !s.ok()) return s;
      return Exec(kMigrationLock);
  }
  return absl::InternalError("unknown transaction mode");
}

absl::Status PostgresConnection::Commit() {
  // Only savepoints' SAVEPOINT and RELEASE are deferred: COMMIT ends every savepoint anyway.
  deferred_.clear();
  // Statements sent (Statement::Send) and no error yet: COMMIT and the queue's release go in
  // their pipeline, one round trip for all. Not when the pipeline holds BEGIN or the queue's
  // lock (a transaction whose every statement was sent): the usual way below.
  if (pipeline_ && pipeline_begin_ && !begin_in_pipeline_ && inner_syncs_ == 0 && tx_error_.ok() &&
      !unqueued_ && pending_begin_.empty()) {
    return CommitInPipeline();
  }
  // A failure in the pipeline leaves the transaction failed: the branch below rolls it back.
  if (absl::Status drained = Drain(); !drained.ok() && broken()) return drained;
  if (!pending_begin_.empty()) {  // no statement ran: nothing was sent, nothing to end
    pending_begin_.clear();
    pending_lock_.clear();  // nor was the queue's lock taken
    return tx_error_;       // a statement that failed to prepare fails the transaction as before
  }
  // A statement failed and the caller went on: PostgreSQL would turn COMMIT into ROLLBACK. Or
  // the queue's lock failed (its own segment of the pipeline, so the transaction went on
  // without it): what ran outside the queue must not commit.
  if (PQtransactionStatus(conn_) == PQTRANS_INERROR || unqueued_) {
    Rollback();
    return tx_error_.ok() ? absl::AbortedError("the transaction failed and was rolled back")
                          : tx_error_;
  }
  if (!release_.empty()) return EndAndRelease("COMMIT");
  return Exec("COMMIT");  // a failed COMMIT ends the transaction too
}

absl::Status PostgresConnection::CommitInPipeline() {
  // COMMIT and the queue's release go after the statements sent, in their sync segment: one
  // round trip, and one flush of the server's answers, for the group's last writes and its end
  // (issue 16). A failure among the statements makes the server skip the rest of the segment,
  // COMMIT and the release too, so nothing of it commits; the transaction is then ended and the
  // queue released as Commit does otherwise (a round trip more, on that path only).
  const std::string release = std::exchange(release_, std::string());
  std::vector<std::string> sent = std::exchange(sent_, {});
  deferred_sent_.clear();  // a savepoint's bookkeeping: the commit ends every savepoint anyway
  ahead_sent_.clear();     // reads sent ahead and never taken: nobody wants them now
  pipeline_ = false;
  const size_t commit_at = sent.size();
  sent.emplace_back("COMMIT");
  if (!release.empty()) sent.push_back(release);
  bool sending = true;
  for (size_t i = commit_at; i < sent.size() && sending; ++i) {
    sending =
        PQsendQueryParams(conn_, sent[i].c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
  }
  sending = sending && PQpipelineSync(conn_) == 1 && PQflush(conn_) == 0;
  // A loss from here on may have hit after the COMMIT ran: UNAVAILABLE, and never run again on
  // a fresh connection (Lost's lost_before_begin_ would allow that).
  const auto lost = [this](std::string_view what) {
    absl::Status status = Lost(what);
    lost_before_begin_ = false;
    return status;
  };
  if (!sending) return lost("sending the commit's pipeline failed");
  absl::Status first;
  bool committed = false;
  bool released = false;
  size_t index = 0;
  while (true) {
    Result next = NextPipelineResult();
    if (next == nullptr) {
      // Gone after COMMIT's answer: committed; the server releases the lock with the session.
      broken_ = true;
      if (committed) return absl::OkStatus();
      return first.ok() ? lost("the commit's pipeline ended early") : first;
    }
    const ExecStatusType status = PQresultStatus(next.get());
    if (status == PGRES_PIPELINE_SYNC) break;
    const size_t at = index++;
    if (status == PGRES_PIPELINE_ABORTED) continue;  // skipped after an earlier failure
    if (at > commit_at) {
      released = status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK;
      continue;
    }
    absl::Status s = Check(next.get(), sent[at]);  // at <= commit_at
    if (!s.ok()) {
      if (first.ok()) first = s;
      continue;
    }
    // PostgreSQL answers ROLLBACK to the COMMIT of a failed transaction.
    if (at == commit_at) committed = std::string_view(PQcmdStatus(next.get())) == "COMMIT";
  }
  if (PQexitPipelineMode(conn_) != 1) broken_ = true;
  if (committed) {
    // A release that failed leaves the connection to be closed (the server releases the lock).
    if (!release.empty() && !released) broken_ = true;
    return absl::OkStatus();
  }
  if (first.ok()) {
    first = absl::AbortedError("the transaction failed and was rolled back");
    if (tx_error_.ok()) tx_error_ = first;
  }
  if (broken()) return first;
  // The segment stopped at a failure: end the transaction it left open (a failed COMMIT ended
  // it already) and release the queue, each in a segment of its own.
  if (PQtransactionStatus(conn_) != PQTRANS_IDLE) {
    release_ = release;
    if (release.empty()) {
      Result(PQexec(conn_, "ROLLBACK"));
    } else {
      (void)EndAndRelease("ROLLBACK");
    }
  } else if (!release.empty() && !released) {
    if (!ExecEach({release})[0].ok()) broken_ = true;
  }
  return first;
}

void PostgresConnection::Rollback() {
  deferred_.clear();
  (void)Drain();
  if (!pending_begin_.empty()) {
    pending_begin_.clear();
    pending_lock_.clear();
    return;
  }
  if (broken()) return;  // the server ends the transaction and releases the lock with it
  if (!release_.empty()) {
    (void)EndAndRelease("ROLLBACK");
    return;
  }
  Result(PQexec(conn_, "ROLLBACK"));
}

absl::Status PostgresConnection::Exec(std::string_view sql) {
  if (absl::Status drained = Drain(); !drained.ok()) return drained;
  // A script may hold several statements, which a pipeline cannot carry: BEGIN goes first.
  if (absl::Status begun = SendPendingBegin(); !begun.ok()) return begun;
  if (!deferred_.empty()) {
    // Each a simple statement: sent in the same simple-query round trip, ahead of `sql`.
    std::string script;
    for (const std::string& d : std::exchange(deferred_, {})) absl::StrAppend(&script, d, ";\n");
    absl::StrAppend(&script, ToAbsl(sql));
    Result result(PQexec(conn_, script.c_str()));
    absl::Status status = Check(result.get(), script);
    if (!status.ok()) deferred_failed_ = true;  // whichever of the script failed
    return status;
  }
  const std::string owned(sql);
  Result result(PQexec(conn_, owned.c_str()));
  return Check(result.get(), sql);
}

absl::Status PostgresConnection::ExecDeferred(std::string_view sql) {
  if (!pipeline_begin_) return Exec(sql);
  deferred_.emplace_back(sql);
  return absl::OkStatus();
}

absl::StatusOr<Result> PostgresConnection::ExecPrepared(const std::string& name, int n,
                                                        const char* const* values,
                                                        const int* lengths, const int* formats,
                                                        std::string_view context) {
  if (pending_begin_.empty() && deferred_.empty() && !pipeline_) {
    Result result(PQexecPrepared(conn_, name.c_str(), n, values, lengths, formats, 0));
    if (absl::Status s = Check(result.get(), context); !s.ok()) return s;
    return result;
  }
  if (absl::Status s = SendPrepared(name, n, values, lengths, formats, context); !s.ok()) {
    return s;
  }
  Result last;
  if (absl::Status s = Drain(&last); !s.ok()) return s;
  return last;
}

absl::Status PostgresConnection::SendPrepared(const std::string& name, int n,
                                              const char* const* values, const int* lengths,
                                              const int* formats, std::string_view context) {
  // HoldSends: the first statement after a read of the pipeline goes at once, so the server
  // starts on it while the caller prepares the next; those after it go with the next read
  // (Drain's sync point) or the commit (CommitInPipeline).
  const bool flush = !hold_sends_ || !pipeline_;
  if (!pipeline_) {
    if (PQenterPipelineMode(conn_) != 1) return Lost("cannot enter pipeline mode");
    pipeline_ = true;
    if (!pending_begin_.empty()) {
      begin_in_pipeline_ = true;
      // The queue's lock first: the server runs BEGIN, so takes the snapshot, once it holds it.
      // A sync point after it ends the implicit transaction a pipeline's statements share
      // (BEGIN's isolation level must come before any query of its transaction). Should the
      // lock fail, the transaction's statements still run, but Drain reports the lock's error
      // first, so the caller rolls them back: nothing commits outside the queue.
      for (std::string* first : {&pending_lock_, &pending_begin_}) {
        if (first->empty()) continue;
        const bool lock = first == &pending_lock_;
        std::string text = std::exchange(*first, std::string());
        bool sent =
            PQsendQueryParams(conn_, text.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
        if (sent && lock) {
          sent = PQpipelineSync(conn_) == 1;
          ++inner_syncs_;
        }
        sent_.push_back(std::move(text));
        if (!sent) return LostInPipeline("sending the pipeline failed");
      }
    }
  }
  // ExecDeferred's statements, in order, after BEGIN and before this one (a pipeline already
  // open was entered with them, or they were deferred since: either way they precede it).
  for (std::string& d : std::exchange(deferred_, {})) {
    const bool sent =
        PQsendQueryParams(conn_, d.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
    deferred_sent_.push_back(sent_.size());
    sent_.push_back(std::move(d));
    if (!sent) return LostInPipeline("sending the pipeline failed");
  }
  if (PQsendQueryPrepared(conn_, name.c_str(), n, values, lengths, formats, 0) != 1 ||
      (flush && PQflush(conn_) != 0)) {
    return LostInPipeline("sending the pipeline failed");
  }
  sent_.emplace_back(context.substr(0, 200));
  return absl::OkStatus();
}

absl::Status PostgresConnection::Check(const PGresult* result, std::string_view context) {
  const ExecStatusType status = result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return absl::OkStatus();
  ++failed_statements_;
  absl::Status error;
  if (PQstatus(conn_) == CONNECTION_BAD) {
    broken_ = true;
    error = absl::UnavailableError(
        absl::StrCat("connection to the database lost: ", PQerrorMessage(conn_)));
  } else {
    const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
    const char* primary = result ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
    // Only the primary message: DETAIL would quote the row's values (personal data).
    const std::string message =
        absl::StrCat(ToAbsl(context.substr(0, 200)), ": ",
                     primary ? primary : absl::StripAsciiWhitespace(PQerrorMessage(conn_)));
    const std::string_view sqlstate = state ? state : "XX000";
    if (IsRetryableSqlState(sqlstate)) NoteRetryable();
    error = StatusFromSqlState(sqlstate, message);
    if (error.code() == absl::StatusCode::kUnavailable) broken_ = true;  // server going away
  }
  if (tx_error_.ok()) tx_error_ = error;
  return error;
}

Result PostgresConnection::NextPipelineResult() {
  for (int nulls = 0;;) {
    Result next(PQgetResult(conn_));
    if (next != nullptr) return next;
    if (PQstatus(conn_) == CONNECTION_BAD || ++nulls > 1) return nullptr;
  }
}

absl::Status PostgresConnection::Drain(Result* last) {
  if (!pipeline_) return absl::OkStatus();
  if (PQpipelineSync(conn_) != 1) return LostInPipeline("sending the pipeline failed");
  pipeline_ = false;
  const bool begin_sent = std::exchange(begin_in_pipeline_, false);
  const std::vector<std::string> sent = std::exchange(sent_, {});
  const std::vector<size_t> deferred = std::exchange(deferred_sent_, {});
  const std::vector<std::pair<size_t, uint64_t>> ahead = std::exchange(ahead_sent_, {});
  const auto ticket_of = [&ahead](size_t at) -> uint64_t {
    for (const auto& [place, ticket] : ahead) {
      if (place == at) return ticket;
    }
    return 0;
  };
  const bool lock_sent = inner_syncs_ > 0;         // BeginQueued's lock is sent[0]
  int syncs = 1 + std::exchange(inner_syncs_, 0);  // sync points to read, the last one ours
  // The sync point ends the pipeline (NextPipelineResult: nullptr when the connection went).
  absl::Status first;
  size_t index = 0;
  bool synced = false;
  while (true) {
    Result next = NextPipelineResult();
    if (next == nullptr) break;
    const ExecStatusType status = PQresultStatus(next.get());
    if (status == PGRES_PIPELINE_SYNC) {
      if (--syncs > 0) continue;  // a segment's end inside the pipeline (BeginQueued's lock)
      synced = true;
      break;
    }
    std::string_view context = "pipeline";
    if (index < sent.size()) context = sent[index];
    ++index;
    const uint64_t ticket = ticket_of(index - 1);
    if (status == PGRES_PIPELINE_ABORTED) {
      // Skipped after an earlier failure: a deferred SAVEPOINT skipped leaves its part without
      // the savepoint it would undo to, so no part may be undone alone (deferred_failed()).
      if (std::find(deferred.begin(), deferred.end(), index - 1) != deferred.end()) {
        deferred_failed_ = true;
      }
      // A read sent ahead and skipped: its Step gets the failure that made the server skip it.
      if (ticket != 0) {
        ahead_.insert_or_assign(
            ticket, AheadResult{.status = first.ok() ? absl::AbortedError(absl::StrCat(
                                                           ToAbsl(context),
                                                           ": skipped after an earlier failure"))
                                                     : first,
                                .result = nullptr});
      }
      continue;
    }
    absl::Status s = Check(next.get(), context);
    if (!s.ok()) {
      if (std::find(deferred.begin(), deferred.end(), index - 1) != deferred.end()) {
        deferred_failed_ = true;
      }
      if (lock_sent && index == 1) unqueued_ = true;
      if (first.ok()) first = s;
    }
    if (ticket != 0) {  // kept for its Step, not the caller's `last`
      ahead_.insert_or_assign(
          ticket, s.ok() ? AheadResult{.status = absl::OkStatus(), .result = std::move(next)}
                         : AheadResult{.status = s, .result = nullptr});
      continue;
    }
    if (last != nullptr) *last = std::move(next);
  }
  if (PQexitPipelineMode(conn_) != 1 || !synced || index != sent.size()) {
    absl::Status lost = Lost("the pipeline ended early");
    lost_before_begin_ = begin_sent;  // nothing ran after a BEGIN that was in it
    return first.ok() ? lost : first;
  }
  if (begin_sent && !first.ok() && broken()) lost_before_begin_ = true;
  return first;
}

absl::Status PostgresConnection::LostInPipeline(std::string_view what) {
  absl::Status lost = Lost(what);
  lost_before_begin_ = begin_in_pipeline_;
  pipeline_ = false;
  begin_in_pipeline_ = false;
  inner_syncs_ = 0;
  sent_.clear();
  deferred_sent_.clear();
  ahead_sent_.clear();  // TakeAhead: the loss (tx_error_)
  return lost;
}

absl::Status PostgresConnection::BeginWith(const char* begin) {
  if (!pipeline_begin_) return Exec(begin);
  pending_begin_ = begin;  // sent with the first statement (ExecPrepared)
  return absl::OkStatus();
}

absl::Status PostgresConnection::SendPendingBegin() {
  if (pending_begin_.empty()) return absl::OkStatus();
  if (!pending_lock_.empty()) {
    const std::string lock = std::exchange(pending_lock_, std::string());
    Result locked(PQexec(conn_, lock.c_str()));
    if (absl::Status status = Check(locked.get(), lock); !status.ok()) {
      pending_begin_.clear();
      if (broken()) lost_before_begin_ = true;
      return status;
    }
  }
  const std::string begin = std::exchange(pending_begin_, std::string());
  Result result(PQexec(conn_, begin.c_str()));
  absl::Status status = Check(result.get(), begin);
  if (!status.ok() && broken()) lost_before_begin_ = true;
  return status;
}

absl::Status PostgresConnection::Lost(std::string_view what) {
  broken_ = true;
  lost_before_begin_ = true;  // nothing of the transaction can have been committed
  absl::Status error = absl::UnavailableError(
      absl::StrCat("connection to the database lost (", ToAbsl(what),
                   "): ", absl::StripAsciiWhitespace(PQerrorMessage(conn_))));
  if (tx_error_.ok()) tx_error_ = error;
  return error;
}

absl::StatusOr<std::unique_ptr<Connection>> PostgresConnector::Connect(bool read_only) {
  (void)read_only;  // one shared pool: reads are read-only by their BEGIN
  const std::string timeout = std::to_string(options_.connect_timeout_s);
  // Later keywords override what the URI (expanded from dbname) says, earlier ones do not:
  // the URI's connect_timeout wins over ours, our password over none.
  std::vector<const char*> keys = {"connect_timeout", "dbname"};
  std::vector<const char*> values = {timeout.c_str(), uri_.c_str()};
  if (!options_.password.empty()) {
    keys.push_back("password");
    values.push_back(options_.password.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* conn = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1);
  if (conn == nullptr) return absl::ResourceExhaustedError("libpq could not allocate");
  if (PQstatus(conn) != CONNECTION_OK) {
    absl::Status error = absl::UnavailableError(absl::StrCat(
        "cannot reach ", uri_, ": ", absl::StripAsciiWhitespace(PQerrorMessage(conn))));
    PQfinish(conn);
    return error;
  }
  // Notices (e.g. "relation already exists, skipping") are not errors; keep stderr clean.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  return std::make_unique<PostgresConnection>(conn, options_.pipeline_begin);
}

}  // namespace dorset::runtime::storage
