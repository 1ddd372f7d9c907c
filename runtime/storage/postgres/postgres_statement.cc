// The PostgreSQL engine's statements (postgres_engine.h): prepared once per connection (the `?`
// placeholders rewritten to $n), parameters bound as text (blobs binary), run alone or sent in
// the connection's pipeline, and the result's cells read back.
#include <libpq-fe.h>

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

}  // namespace dorset::runtime::storage
