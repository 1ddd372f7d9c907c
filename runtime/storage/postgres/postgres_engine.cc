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
    if (!pending_begin_.empty()) {
      pending_begin_.clear();
      return;
    }
    if (!broken()) Result(PQexec(conn_, "ROLLBACK"));
  }
  absl::Status Exec(std::string_view sql) override {
    // A script may hold several statements, which a pipeline cannot carry: BEGIN goes first.
    if (absl::Status begun = SendPendingBegin(); !begun.ok()) return begun;
    const std::string owned(sql);
    Result result(PQexec(conn_, owned.c_str()));
    return Check(result.get(), sql);
  }
  absl::StatusOr<std::unique_ptr<StatementBackend>> Prepare(std::string_view sql) override;
  bool broken() const override { return broken_ || PQstatus(conn_) == CONNECTION_BAD; }
  bool lost_before_begin() const override { return lost_before_begin_; }

  // Runs prepared statement `name` with its parameters, sending the transaction's BEGIN with it
  // in one pipeline when BEGIN is still to be sent: one round trip for both. The statement's
  // result, or BEGIN's error (the statement is then skipped by the server) or the statement's.
  absl::StatusOr<Result> ExecPrepared(const std::string& name, int n, const char* const* values,
                                      const int* lengths, const int* formats,
                                      std::string_view context) {
    if (pending_begin_.empty()) {
      Result result(PQexecPrepared(conn_, name.c_str(), n, values, lengths, formats, 0));
      if (absl::Status s = Check(result.get(), context); !s.ok()) return s;
      return result;
    }
    const std::string begin = std::exchange(pending_begin_, std::string());
    if (PQenterPipelineMode(conn_) != 1) return Lost("cannot enter pipeline mode");
    // BEGIN through the extended protocol too (a pipeline carries no simple queries).
    const bool sent =
        PQsendQueryParams(conn_, begin.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) == 1 &&
        PQsendQueryPrepared(conn_, name.c_str(), n, values, lengths, formats, 0) == 1 &&
        PQpipelineSync(conn_) == 1;
    if (!sent) return Lost("sending the pipeline failed");
    // Each query's result is followed by a NULL; the sync point ends the pipeline. Two NULLs in
    // a row, or none of the expected results, mean the connection is gone.
    std::vector<Result> results;
    int nulls = 0;
    while (true) {
      PGresult* next = PQgetResult(conn_);
      if (next == nullptr) {
        if (PQstatus(conn_) == CONNECTION_BAD || ++nulls > 1) break;
        continue;
      }
      nulls = 0;
      if (PQresultStatus(next) == PGRES_PIPELINE_SYNC) {
        PQclear(next);
        break;
      }
      results.emplace_back(next);
    }
    if (PQexitPipelineMode(conn_) != 1 || results.size() != 2) {
      // Whatever BEGIN's result says, a pipeline cut short leaves the connection unusable.
      if (!results.empty()) {
        if (absl::Status s = Check(results[0].get(), begin); !s.ok() && broken()) {
          lost_before_begin_ = true;
          return s;
        }
      }
      return Lost("the pipeline ended early");
    }
    if (absl::Status s = Check(results[0].get(), begin); !s.ok()) {
      if (broken()) lost_before_begin_ = true;
      return s;
    }
    if (absl::Status s = Check(results[1].get(), context); !s.ok()) return s;
    return std::move(results[1]);
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

  absl::Status Execute() {
    const int n = static_cast<int>(values_.size());
    std::vector<const char*> pointers(n);
    std::vector<int> lengths(n);
    std::vector<int> formats(n);
    for (int i = 0; i < n; ++i) {
      pointers[i] = values_[i].data ? values_[i].data->data() : nullptr;
      lengths[i] = values_[i].data ? static_cast<int>(values_[i].data->size()) : 0;
      formats[i] = values_[i].binary ? 1 : 0;
    }
    absl::StatusOr<Result> result =
        connection_->ExecPrepared(name_, n, pointers.data(), lengths.data(), formats.data(), sql_);
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
