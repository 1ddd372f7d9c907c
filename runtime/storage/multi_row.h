// Several rows per INSERT (issue 16): a group commit's rows of one table (its audit events, its
// idempotency records) are written by a few multi-row statements instead of one statement each.
// A statement's fixed cost - SQLite: its start and halt, an AUTOINCREMENT's sqlite_sequence read
// and write; PostgreSQL: a round trip - is paid once per statement, not once per row.
//
// Statements hold kRowsPerInsert rows or a power of two fewer, so one table has at most
// kInsertShapes statement texts (each prepared once and kept by the engines' statement caches).
//
//   static const MultiRowInsert kInsert("INSERT INTO t(a, b) VALUES ", 2);
//   MultiRowStatements inserts(kInsert, tx);  // kept for the transaction's life
//   RETURN_IF_ERROR(inserts.Run(rows.size(), [&](Statement& s, size_t row, int first) {
//     s.Bind(first, rows[row].a).Bind(first + 1, rows[row].b); }));
// (MultiRowInsert::Run takes the statements from the caller, for statements not of the lane's
// Transaction: the audit trail's own SQLite file.)
//
// On PostgreSQL an insert given its columns' types (`pg_types`) goes as ONE statement for any
// number of rows: `INSERT INTO t(a, b) SELECT ... FROM unnest(?::bigint[], ?::text[]) WITH
// ORDINALITY ... ORDER BY` the row's place, each column's values bound as one array literal
// (PgArrayColumns). One statement text a table, one round trip and one executor start a flush,
// instead of up to kInsertShapes statements of up to 64 x columns parameters each (issue 16,
// bench/README.md "Session 20"). The same `bind` callback fills either form.
#ifndef DORSET_RUNTIME_STORAGE_MULTI_ROW_H_
#define DORSET_RUNTIME_STORAGE_MULTI_ROW_H_

#include <array>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/database.h"

namespace dorset::runtime::storage {

// Appends `text` to `out` as one quoted element of a PostgreSQL array literal ("..." with `"` and
// `\` escaped), as the array's text input reads it back unchanged.
inline void AppendPgArrayElement(std::string& out, std::string_view text) {
  out += '"';
  for (const char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

// A StatementBackend that runs nothing: each bound value is appended to its column's PostgreSQL
// array literal ("{1,2,NULL}", "{\"a\",\"b\"}"; a blob as bytea's hex input "\\x..."), so a
// row-at-a-time binder fills one array per column (MultiRowStatements' unnest form).
class PgArrayColumns : public StatementBackend {
 public:
  explicit PgArrayColumns(int columns)
      : arrays_(static_cast<size_t>(columns)), counts_(static_cast<size_t>(columns)) {
    Clear();
  }

  void Clear() {
    for (std::string& a : arrays_) a.assign(1, '{');
    for (size_t& n : counts_) n = 0;
    error_ = absl::OkStatus();
  }
  // OK when every column holds `rows` values and no index was out of range.
  absl::Status Check(size_t rows) const {
    RETURN_IF_ERROR(error_);
    for (size_t c = 0; c < counts_.size(); ++c) {
      if (counts_[c] != rows) {
        return absl::InternalError(absl::StrCat("multi-row insert: column ", c + 1, " bound ",
                                                counts_[c], " times for ", rows, " rows"));
      }
    }
    return absl::OkStatus();
  }
  // The literal of column `column` (0-based), closed; the builder is then Clear()ed for reuse.
  std::string Take(int column) {
    std::string& a = arrays_[static_cast<size_t>(column)];
    a += '}';
    return std::exchange(a, std::string(1, '{'));
  }

  void BindInt(int index, int64_t value) override {
    if (std::string* out = Next(index)) absl::StrAppend(out, value);
  }
  void BindText(int index, std::string_view text) override {
    if (std::string* out = Next(index)) AppendPgArrayElement(*out, text);
  }
  void BindBlob(int index, std::string_view bytes) override {
    std::string* out = Next(index);
    if (out == nullptr) return;
    static constexpr char kHex[] = "0123456789abcdef";
    out->append("\"\\\\x");  // "\\x: the element's backslash escaped
    for (const char c : bytes) {
      const auto b = static_cast<unsigned char>(c);
      *out += kHex[b >> 4];
      *out += kHex[b & 15];
    }
    *out += '"';
  }
  void BindNull(int index) override {
    if (std::string* out = Next(index)) out->append("NULL");
  }
  absl::StatusOr<bool> Step() override {
    return absl::InternalError("PgArrayColumns only collects bound values");
  }
  void Reset() override {}
  int64_t Changes() const override { return 0; }
  bool IsNull(int) const override { return true; }
  int64_t Int(int) const override { return 0; }
  std::string Text(int) const override { return {}; }
  std::string Blob(int) const override { return {}; }

 private:
  // Column index-1's literal with a separator after its previous element; nullptr (the error
  // Check returns) for an index out of range.
  std::string* Next(int index) {
    if (index < 1 || index > static_cast<int>(arrays_.size())) {
      if (error_.ok()) {
        error_ = absl::InternalError(absl::StrCat("multi-row insert: bind index ", index,
                                                  " out of range 1..", arrays_.size()));
      }
      return nullptr;
    }
    std::string& a = arrays_[static_cast<size_t>(index - 1)];
    if (a.size() > 1) a += ',';
    ++counts_[static_cast<size_t>(index - 1)];
    return &a;
  }
  std::vector<std::string> arrays_;
  std::vector<size_t> counts_;
  absl::Status error_;
};

class MultiRowInsert {
 public:
  static constexpr size_t kRowsPerInsert = 64;
  static constexpr size_t kInsertShapes = 7;  // 64, 32, ..., 1 rows

  // `head`: "INSERT INTO t(a, b) VALUES "; `columns`: placeholders per row; `tail` follows the
  // rows (e.g. " ON CONFLICT (a) DO UPDATE SET b = t.b + excluded.b": rows of one statement
  // must then not share a key). `pg_types`: the columns' PostgreSQL types in order ("bigint",
  // "text", "bytea"), for the one-statement unnest form on PostgreSQL (none: the shapes there
  // too).
  MultiRowInsert(std::string_view head, int columns, std::string_view tail = "",
                 std::initializer_list<std::string_view> pg_types = {})
      : columns_(columns) {
    std::string row = "(";
    for (int c = 0; c < columns; ++c) absl::StrAppend(&row, c == 0 ? "?" : ", ?");
    row += ")";
    for (size_t shape = 0; shape < kInsertShapes; ++shape) {
      std::string& sql = sql_[shape];
      sql = std::string(head);
      for (size_t r = 0; r < (kRowsPerInsert >> shape); ++r) {
        absl::StrAppend(&sql, r == 0 ? "" : ", ", row);
      }
      sql += tail;
    }
    if (pg_types.size() == static_cast<size_t>(columns) && columns > 0) {
      // "INSERT INTO t(a, b) " + "SELECT u.c1, u.c2 FROM unnest(?::bigint[], ?::text[]) WITH
      // ORDINALITY AS u(c1, c2, n) ORDER BY u.n" + tail: the rows in the arrays' order (ids
      // and sequences given out as the shapes give them).
      std::string_view into = head;
      if (const size_t values = into.rfind("VALUES"); values != std::string_view::npos) {
        into = into.substr(0, values);
      }
      std::string select = "SELECT ", args, names;
      int c = 0;
      for (const std::string_view type : pg_types) {
        const std::string n = std::to_string(++c);
        const char* sep = c == 1 ? "" : ", ";
        select.append(sep).append("u.c").append(n);
        args.append(sep).append("?::").append(type).append("[]");
        names.append(sep).append("c").append(n);
      }
      unnest_sql_.append(into)
          .append(select)
          .append(" FROM unnest(")
          .append(args)
          .append(") WITH ORDINALITY AS u(")
          .append(names)
          .append(", n) ORDER BY u.n")
          .append(tail);
    }
  }

  // The statement text for a shape (rows = kRowsPerInsert >> shape).
  const std::string& Sql(size_t shape) const { return sql_[shape]; }
  // The one-statement form on PostgreSQL (empty: not given the columns' types).
  const std::string& UnnestSql() const { return unnest_sql_; }
  int columns() const { return columns_; }

  // Inserts `count` rows, in order, in as few statements as the shapes allow. statement(shape)
  // gives a prepared statement of Sql(shape) as absl::StatusOr<Stmt*> (kept alive by the caller);
  // bind(stmt, row, first) binds row `row`'s columns from placeholder `first` on. Each statement
  // is reset after it ran.
  template <typename StatementFor, typename BindRow>
  absl::Status Run(size_t count, const StatementFor& statement, const BindRow& bind) const {
    size_t done = 0;
    while (done < count) {
      size_t shape = 0;
      while ((kRowsPerInsert >> shape) > count - done) ++shape;
      const size_t rows = kRowsPerInsert >> shape;
      ASSIGN_OR_RETURN(auto* insert, statement(shape));
      for (size_t row = 0; row < rows; ++row) {
        bind(*insert, done + row, 1 + columns_ * static_cast<int>(row));
      }
      absl::Status run = insert->Run();
      insert->Reset();
      RETURN_IF_ERROR(run);
      done += rows;
    }
    return absl::OkStatus();
  }

 private:
  const int columns_;
  std::array<std::string, kInsertShapes> sql_;
  std::string unnest_sql_;
};

// A MultiRowInsert's statements in one transaction: each shape prepared on its first use and kept
// for the transaction's later rows (one per group of a group commit, or one per Flush). Lives no
// longer than the transaction. Movable.
class MultiRowStatements {
 public:
  MultiRowStatements(const MultiRowInsert& insert, Transaction& tx) : insert_(&insert), tx_(&tx) {}

  // Inserts `count` rows in order; bind(statement, row, first) as MultiRowInsert::Run. On
  // PostgreSQL with the columns' types: one statement, the rows bound as arrays.
  template <typename BindRow>
  absl::Status Run(size_t count, const BindRow& bind) {
    return Insert(count, bind, /*send=*/false);
  }
  // As Run, but on PostgreSQL the one statement is sent without waiting for its result
  // (Statement::Send): for the writes a group makes before its commit, which then go in one
  // round trip with it. A failure is returned by the transaction's next statement or commit.
  template <typename BindRow>
  absl::Status Send(size_t count, const BindRow& bind) {
    return Insert(count, bind, /*send=*/true);
  }

 private:
  template <typename BindRow>
  absl::Status Insert(size_t count, const BindRow& bind, bool send) {
    if (count > 0 && tx_->engine() == Engine::kPostgres && !insert_->UnnestSql().empty()) {
      if (!unnest_.has_value()) {
        ASSIGN_OR_RETURN(unnest_, tx_->Prepare(insert_->UnnestSql()));
        auto columns = std::make_unique<PgArrayColumns>(insert_->columns());
        arrays_ = columns.get();
        collector_.emplace(std::move(columns));
      }
      arrays_->Clear();
      for (size_t row = 0; row < count; ++row) bind(*collector_, row, 1);
      RETURN_IF_ERROR(arrays_->Check(count));
      unnest_->Reset();
      for (int c = 0; c < insert_->columns(); ++c) unnest_->Bind(c + 1, arrays_->Take(c));
      // Sent: libpq has copied the arrays, so the statement can be reset at once.
      absl::Status run = send ? unnest_->Send() : unnest_->Run();
      unnest_->Reset();
      return run;
    }
    return insert_->Run(
        count,
        [this](size_t shape) -> absl::StatusOr<Statement*> {
          if (!statements_[shape].has_value()) {
            ASSIGN_OR_RETURN(statements_[shape], tx_->Prepare(insert_->Sql(shape)));
          }
          return &*statements_[shape];
        },
        bind);
  }

  const MultiRowInsert* insert_;
  Transaction* tx_;
  std::array<std::optional<Statement>, MultiRowInsert::kInsertShapes> statements_;
  // The unnest form (PostgreSQL): its statement and the binder's array builder (owned by
  // collector_).
  std::optional<Statement> unnest_;
  std::optional<Statement> collector_;
  PgArrayColumns* arrays_ = nullptr;
};

}  // namespace dorset::runtime::storage

#endif  // DORSET_RUNTIME_STORAGE_MULTI_ROW_H_
