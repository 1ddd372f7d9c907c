// The PostgreSQL engine's statements (postgres_engine.h): prepared once per connection (the `?`
// placeholders rewritten to $n), parameters bound as text (blobs binary), run alone or sent in
// the connection's pipeline (a read sent ahead has its result kept by the connection until its
// Step takes it), and the result's cells read back.
#include <libpq-fe.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "runtime/base/string_view.h"
#include "runtime/storage/postgres/placeholders.h"
#include "runtime/storage/postgres/postgres_connection.h"

namespace dorset::runtime::storage {
namespace {

constexpr unsigned kByteaOid = 17;

class PostgresStatement : public StatementBackend {
 public:
  PostgresStatement(PostgresConnection* connection, std::string_view sql, std::string name,
                    int params)
      : connection_(connection), sql_(sql), name_(std::move(name)), values_(params) {}
  ~PostgresStatement() override { DropAhead(); }
  PostgresStatement(const PostgresStatement&) = delete;
  PostgresStatement& operator=(const PostgresStatement&) = delete;

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
      if (ahead_ != 0) {
        absl::StatusOr<Result> result = connection_->TakeAhead(std::exchange(ahead_, 0));
        if (!result.ok()) return result.status();
        Adopt(*std::move(result));
      } else if (absl::Status s = Execute(); !s.ok()) {
        return s;
      }
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
  absl::Status SendAhead() override {
    if (!bind_error_.ok()) return bind_error_;
    DropAhead();
    result_.reset();
    row_ = -1;
    const Params p = BuildParams();  // libpq copies the values into its buffer
    absl::StatusOr<uint64_t> ticket =
        connection_->SendAhead(name_, static_cast<int>(values_.size()), p.pointers.data(),
                               p.lengths.data(), p.formats.data(), sql_);
    if (!ticket.ok()) return ticket.status();
    ahead_ = *ticket;
    return absl::OkStatus();
  }
  void Reset() override {
    DropAhead();
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
    Adopt(*std::move(result));
    return absl::OkStatus();
  }
  void Adopt(Result result) {
    int64_t changes = 0;
    (void)absl::SimpleAtoi(PQcmdTuples(result.get()), &changes);
    changes_ = changes;
    result_ = std::move(result);
    row_ = -1;
  }
  void DropAhead() {
    if (ahead_ != 0) connection_->DropAhead(std::exchange(ahead_, 0));
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
  uint64_t ahead_ = 0;  // SendAhead's ticket until Step takes the result (0: none)
};

}  // namespace

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

absl::StatusOr<uint64_t> PostgresConnection::SendAhead(const std::string& name, int n,
                                                       const char* const* values,
                                                       const int* lengths, const int* formats,
                                                       std::string_view context) {
  if (absl::Status s = SendPrepared(name, n, values, lengths, formats, context); !s.ok()) {
    return s;
  }
  ahead_sent_.emplace_back(sent_.size() - 1, ++last_ticket_);
  return last_ticket_;
}

absl::StatusOr<Result> PostgresConnection::TakeAhead(uint64_t ticket) {
  const auto in_pipeline = [&] {
    return std::any_of(ahead_sent_.begin(), ahead_sent_.end(),
                       [ticket](const auto& sent) { return sent.second == ticket; });
  };
  // Its error, if any, is kept with it: the drain's own status is that of the first failure.
  if (!ahead_.contains(ticket) && in_pipeline()) (void)Drain();
  if (auto taken = ahead_.extract(ticket); !taken.empty()) {
    if (!taken.mapped().status.ok()) return taken.mapped().status;
    return std::move(taken.mapped().result);
  }
  // Lost with the connection (the pipeline ended before it), or never sent in this transaction.
  return tx_error_.ok() ? absl::InternalError("a statement sent ahead has no result") : tx_error_;
}

void PostgresConnection::DropAhead(uint64_t ticket) {
  ahead_.erase(ticket);
  std::erase_if(ahead_sent_, [ticket](const auto& sent) { return sent.second == ticket; });
}

}  // namespace dorset::runtime::storage
