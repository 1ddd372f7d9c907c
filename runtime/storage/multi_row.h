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
#ifndef DORSET_RUNTIME_STORAGE_MULTI_ROW_H_
#define DORSET_RUNTIME_STORAGE_MULTI_ROW_H_

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/database.h"

namespace dorset::runtime::storage {

class MultiRowInsert {
 public:
  static constexpr size_t kRowsPerInsert = 64;
  static constexpr size_t kInsertShapes = 7;  // 64, 32, ..., 1 rows

  // `head`: "INSERT INTO t(a, b) VALUES "; `columns`: placeholders per row; `tail` follows the
  // rows (e.g. " ON CONFLICT (a) DO UPDATE SET b = t.b + excluded.b": rows of one statement
  // must then not share a key).
  MultiRowInsert(std::string_view head, int columns, std::string_view tail = "")
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
  }

  // The statement text for a shape (rows = kRowsPerInsert >> shape).
  const std::string& Sql(size_t shape) const { return sql_[shape]; }

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
};

// A MultiRowInsert's statements in one transaction: each shape prepared on its first use and kept
// for the transaction's later rows (one per group of a group commit, or one per Flush). Lives no
// longer than the transaction. Movable.
class MultiRowStatements {
 public:
  MultiRowStatements(const MultiRowInsert& insert, Transaction& tx) : insert_(&insert), tx_(&tx) {}

  // Inserts `count` rows in order; bind(statement, row, first) as MultiRowInsert::Run.
  template <typename BindRow>
  absl::Status Run(size_t count, const BindRow& bind) {
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

 private:
  const MultiRowInsert* insert_;
  Transaction* tx_;
  std::array<std::optional<Statement>, MultiRowInsert::kInsertShapes> statements_;
};

}  // namespace dorset::runtime::storage

#endif  // DORSET_RUNTIME_STORAGE_MULTI_ROW_H_
