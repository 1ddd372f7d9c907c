#include "runtime/storage/postgres/postgres_engine.h"

#include <libpq-fe.h>

#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "runtime/base/string_view.h"
#include "runtime/storage/postgres/placeholders.h"
#include "runtime/storage/postgres/sqlstate.h"

namespace dorset::runtime::storage {
namespace {

constexpr unsigned kByteaOid = 17;
// pg_advisory_xact_lock key of schema migrations: "dorset" in ASCII.
constexpr const char* kMigrationLock = "SELECT pg_advisory_xact_lock(110429387273588)";

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

class PostgresConnection : public Connection {
 public:
  PostgresConnection(PGconn* conn, bool pipeline_begin)
      : conn_(conn), pipeline_begin_(pipeline_begin) {}
  ~PostgresConnection() override { PQfinish(conn_); }

  absl::Status Begin(TransactionMode mode) override {
    tx_error_ = absl::OkStatus();
    lost_before_begin_ = false;
    pending_begin_.clear();
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
  absl::Status Commit() override {
    // A failure in the pipeline leaves the transaction failed: the branch below rolls it back.
    if (absl::Status drained = Drain(); !drained.ok() && broken()) return drained;
    if (!pending_begin_.empty()) {  // no statement ran: nothing was sent, nothing to end
      pending_begin_.clear();
      return tx_error_;  // a statement that failed to prepare fails the transaction as before
    }
    if (PQtransactionStatus(conn_) == PQTRANS_INERROR) {
      // A statement failed and the caller went on: PostgreSQL would turn COMMIT into ROLLBACK.
      Rollback();
      return tx_error_.ok() ? absl::AbortedError("the transaction failed and was rolled back")
                            : tx_error_;
    }
    return Exec("COMMIT");  // a failed COMMIT ends the transaction too
  }
  void Rollback() override {
    (void)Drain();
    if (!pending_begin_.empty()) {
      pending_begin_.clear();
      return;
    }
    if (!broken()) Result(PQexec(conn_, "ROLLBACK"));
  }
  absl::Status Exec(std::string_view sql) override {
    if (absl::Status drained = Drain(); !drained.ok()) return drained;
    // A script may hold several statements, which a pipeline cannot carry: BEGIN goes first.
    if (absl::Status begun = SendPendingBegin(); !begun.ok()) return begun;
    const std::string owned(sql);
    Result result(PQexec(conn_, owned.c_str()));
    return Check(result.get(), sql);
  }
  absl::StatusOr<std::unique_ptr<StatementBackend>> Prepare(std::string_view sql) override;
  bool broken() const override { return broken_ || PQstatus(conn_) == CONNECTION_BAD; }
  bool lost_before_begin() const override { return lost_before_begin_; }

  // Runs prepared statement `name` with its parameters. When BEGIN is still to be sent, or
  // statements were sent before (SendPrepared), it joins them in one pipeline: one round trip
  // for all. The statement's result, or the first error (BEGIN's, an earlier statement's, or
  // its own; the server skips the statements after a failure).
  absl::StatusOr<Result> ExecPrepared(const std::string& name, int n, const char* const* values,
                                      const int* lengths, const int* formats,
                                      std::string_view context) {
    if (pending_begin_.empty() && !pipeline_) {
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

  // Sends prepared statement `name` into the connection's pipeline without waiting for its
  // result (Statement::Send), BEGIN first when it is still to be sent. Flushed at once, so the
  // server works on it while the caller goes on; Drain() reads the results.
  absl::Status SendPrepared(const std::string& name, int n, const char* const* values,
                            const int* lengths, const int* formats, std::string_view context) {
    if (!pipeline_) {
      if (PQenterPipelineMode(conn_) != 1) return Lost("cannot enter pipeline mode");
      pipeline_ = true;
      if (!pending_begin_.empty()) {
        std::string begin = std::exchange(pending_begin_, std::string());
        begin_in_pipeline_ = true;
        const bool sent =
            PQsendQueryParams(conn_, begin.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
        sent_.push_back(std::move(begin));
        if (!sent) return LostInPipeline("sending the pipeline failed");
      }
    }
    if (PQsendQueryPrepared(conn_, name.c_str(), n, values, lengths, formats, 0) != 1 ||
        PQflush(conn_) != 0) {
      return LostInPipeline("sending the pipeline failed");
    }
    sent_.emplace_back(context.substr(0, 200));
    return absl::OkStatus();
  }

  PGconn* conn() { return conn_; }
  // The status of a finished command: OK, or the mapped error (noting a retryable one, a lost
  // connection and the transaction's first error).
  absl::Status Check(const PGresult* result, std::string_view context) {
    const ExecStatusType status = result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result);
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return absl::OkStatus();
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

 private:
  struct Prepared {
    std::string name;
    int params;
  };

  // Ends the pipeline of statements sent (SendPrepared) and reads their results: OK, or the
  // first failure (the statements after it were skipped by the server). Nothing to do when no
  // statement was sent. Every other use of the connection drains first.
  absl::Status Drain(Result* last = nullptr) {
    if (!pipeline_) return absl::OkStatus();
    if (PQpipelineSync(conn_) != 1) return LostInPipeline("sending the pipeline failed");
    pipeline_ = false;
    const bool begin_sent = std::exchange(begin_in_pipeline_, false);
    const std::vector<std::string> sent = std::exchange(sent_, {});
    // As in ExecPrepared: each query's results end with a NULL, the sync point ends the
    // pipeline, and two NULLs in a row mean the connection is gone.
    absl::Status first;
    size_t index = 0;
    int nulls = 0;
    bool synced = false;
    while (true) {
      Result next(PQgetResult(conn_));
      if (next == nullptr) {
        if (PQstatus(conn_) == CONNECTION_BAD || ++nulls > 1) break;
        continue;
      }
      nulls = 0;
      const ExecStatusType status = PQresultStatus(next.get());
      if (status == PGRES_PIPELINE_SYNC) {
        synced = true;
        break;
      }
      std::string_view context = "pipeline";
      if (index < sent.size()) context = sent[index];
      ++index;
      if (status == PGRES_PIPELINE_ABORTED) continue;  // skipped after an earlier failure
      if (absl::Status s = Check(next.get(), context); !s.ok() && first.ok()) first = s;
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
  // Lost(), and the transaction's statements ran unless its BEGIN was in the pipeline.
  absl::Status LostInPipeline(std::string_view what) {
    absl::Status lost = Lost(what);
    lost_before_begin_ = begin_in_pipeline_;
    pipeline_ = false;
    begin_in_pipeline_ = false;
    sent_.clear();
    return lost;
  }

  absl::Status BeginWith(const char* begin) {
    if (!pipeline_begin_) return Exec(begin);
    pending_begin_ = begin;  // sent with the first statement (ExecPrepared)
    return absl::OkStatus();
  }
  absl::Status SendPendingBegin() {
    if (pending_begin_.empty()) return absl::OkStatus();
    const std::string begin = std::exchange(pending_begin_, std::string());
    Result result(PQexec(conn_, begin.c_str()));
    absl::Status status = Check(result.get(), begin);
    if (!status.ok() && broken()) lost_before_begin_ = true;
    return status;
  }
  // The connection is unusable (a pipeline could not be sent or read back whole).
  absl::Status Lost(std::string_view what) {
    broken_ = true;
    lost_before_begin_ = true;  // nothing of the transaction can have been committed
    absl::Status error = absl::UnavailableError(
        absl::StrCat("connection to the database lost (", ToAbsl(what),
                     "): ", absl::StripAsciiWhitespace(PQerrorMessage(conn_))));
    if (tx_error_.ok()) tx_error_ = error;
    return error;
  }

  PGconn* conn_;
  const bool pipeline_begin_;
  std::string pending_begin_;  // BEGIN not sent yet: it goes with the first statement
  bool pipeline_ = false;      // statements sent (SendPrepared) whose results are not read yet
  bool begin_in_pipeline_ = false;
  std::vector<std::string> sent_;  // what each sent statement was (for error messages)
  bool lost_before_begin_ = false;
  bool broken_ = false;
  absl::Status tx_error_;
  absl::flat_hash_map<std::string, Prepared> prepared_;
};

class PostgresStatement : public StatementBackend {
 public:
  PostgresStatement(PostgresConnection* connection, std::string_view sql, std::string name,
                    int params)
      : connection_(connection), sql_(sql), name_(std::move(name)), values_(params) {}

  void BindInt(int index, int64_t value) override { Set(index, std::to_string(value), false); }
  void BindText(int index, std::string_view text) override { Set(index, std::string(text), false); }
  // Binary format: the bytes go as they are, no escaping.
  void BindBlob(int index, std::string_view bytes) override {
    Set(index, std::string(bytes), true);
  }
  void BindNull(int index) override { Set(index, std::nullopt, false); }

  absl::StatusOr<bool> Step() override {
    if (!bind_error_.ok()) return bind_error_;
    if (result_ == nullptr) {
      if (absl::Status s = Execute(); !s.ok()) return s;
    }
    ++row_;
    return row_ < PQntuples(result_.get());
  }
  absl::Status Send() override {
    if (!bind_error_.ok()) return bind_error_;
    const Params p = BuildParams();  // libpq copies the values into its buffer
    return connection_->SendPrepared(name_, static_cast<int>(values_.size()), p.pointers.data(),
                                     p.lengths.data(), p.formats.data(), sql_);
  }
  void Reset() override {
    result_.reset();
    row_ = -1;
    changes_ = 0;
    bind_error_ = absl::OkStatus();
    for (Value& v : values_) v = Value{};
  }
  int64_t Changes() const override { return changes_; }
  bool IsNull(int column) const override {
    return !HasCell(column) || PQgetisnull(result_.get(), row_, column);
  }
  int64_t Int(int column) const override {
    if (IsNull(column)) return 0;
    const absl::string_view text = Cell(column);
    if (text == "t") return 1;  // boolean columns
    if (text == "f") return 0;
    int64_t value = 0;
    (void)absl::SimpleAtoi(text, &value);
    return value;
  }
  std::string Text(int column) const override {
    if (IsNull(column)) return {};
    return std::string(Cell(column));
  }
  std::string Blob(int column) const override {
    if (IsNull(column)) return {};
    if (PQftype(result_.get(), column) != kByteaOid) return Text(column);
    size_t length = 0;
    unsigned char* bytes = PQunescapeBytea(
        reinterpret_cast<const unsigned char*>(PQgetvalue(result_.get(), row_, column)), &length);
    if (bytes == nullptr) return {};
    std::string out(reinterpret_cast<char*>(bytes), length);
    PQfreemem(bytes);
    return out;
  }

 private:
  struct Value {
    std::optional<std::string> data;
    bool binary = false;
  };

  void Set(int index, std::optional<std::string> data, bool binary) {
    if (index < 1 || index > static_cast<int>(values_.size())) {
      if (bind_error_.ok()) {
        bind_error_ =
            absl::InternalError(absl::StrCat("bind index ", index, " out of range 1..",
                                             values_.size(), " in ", ToAbsl(sql_.substr(0, 200))));
      }
      return;
    }
    values_[index - 1] = Value{std::move(data), binary};
  }

  struct Params {
    std::vector<const char*> pointers;
    std::vector<int> lengths;
    std::vector<int> formats;
  };
  Params BuildParams() const {
    const size_t n = values_.size();
    Params p{std::vector<const char*>(n), std::vector<int>(n), std::vector<int>(n)};
    for (size_t i = 0; i < n; ++i) {
      p.pointers[i] = values_[i].data ? values_[i].data->data() : nullptr;
      p.lengths[i] = values_[i].data ? static_cast<int>(values_[i].data->size()) : 0;
      p.formats[i] = values_[i].binary ? 1 : 0;
    }
    return p;
  }

  absl::Status Execute() {
    const Params p = BuildParams();
    absl::StatusOr<Result> result =
        connection_->ExecPrepared(name_, static_cast<int>(values_.size()), p.pointers.data(),
                                  p.lengths.data(), p.formats.data(), sql_);
    if (!result.ok()) return result.status();
    int64_t changes = 0;
    (void)absl::SimpleAtoi(PQcmdTuples(result->get()), &changes);
    changes_ = changes;
    result_ = *std::move(result);
    row_ = -1;
    return absl::OkStatus();
  }

  bool HasCell(int column) const {
    return result_ != nullptr && row_ >= 0 && row_ < PQntuples(result_.get()) && column >= 0 &&
           column < PQnfields(result_.get());
  }
  absl::string_view Cell(int column) const {
    return absl::string_view(PQgetvalue(result_.get(), row_, column),
                             PQgetlength(result_.get(), row_, column));
  }

  PostgresConnection* connection_;
  std::string sql_;
  std::string name_;
  std::vector<Value> values_;
  absl::Status bind_error_;
  Result result_;
  int row_ = -1;
  int64_t changes_ = 0;
};

absl::StatusOr<std::unique_ptr<StatementBackend>> PostgresConnection::Prepare(
    std::string_view sql) {
  auto it = prepared_.find(ToAbsl(sql));
  if (it == prepared_.end()) {
    // PQprepare is not allowed in a pipeline: the statements sent are finished first.
    if (absl::Status drained = Drain(); !drained.ok()) return drained;
    int params = 0;
    const std::string rewritten = RewritePlaceholders(sql, &params);
    std::string name = absl::StrCat("dorset_", prepared_.size() + 1);
    Result result(PQprepare(conn_, name.c_str(), rewritten.c_str(), params, nullptr));
    if (absl::Status s = Check(result.get(), sql); !s.ok()) {
      if (!pending_begin_.empty() && broken()) lost_before_begin_ = true;
      return s;
    }
    it = prepared_.emplace(std::string(sql), Prepared{std::move(name), params}).first;
  }
  return std::make_unique<PostgresStatement>(this, sql, it->second.name, it->second.params);
}

}  // namespace

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
