// Several rows per INSERT (issue 16): a group commit's rows of one table (its audit events, its
// idempotency records) are written by a few multi-row statements instead of one statement each.
// A statement's fixed cost - SQLite: its start and halt, an AUTOINCREMENT's sqlite_sequence read
// and write; PostgreSQL: a round trip - is paid once per statement, not once per row.
//
// Statements hold kRowsPerInsert rows or a power of two fewer, so one table has at most
// kInsertShapes statement texts (each prepared once and kept by the engines' statement caches).
//
//   static const MultiRowInsert kInsert("INSERT INTO t(a, b) VALUES ", 2);
//   RETURN_IF_ERROR(kInsert.Run(rows.size(), [&](size_t shape) { return tx.Prepare(...); },
//                               [&](Statement& s, size_t row, int first) {
//                                 s.Bind(first, rows[row].a).Bind(first + 1, rows[row].b); }));
#ifndef DORSET_RUNTIME_STORAGE_MULTI_ROW_H_
#define DORSET_RUNTIME_STORAGE_MULTI_ROW_H_

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "runtime/status/status_macros.h"

namespace dorset::runtime::storage {

class MultiRowInsert {
 public:
  static constexpr size_t kRowsPerInsert = 64;
  static constexpr size_t kInsertShapes = 7;  // 64, 32, ..., 1 rows

  // `head`: "INSERT INTO t(a, b) VALUES "; `columns`: placeholders per row.
  MultiRowInsert(std::string_view head, int columns) : columns_(columns) {
    std::string row = "(";
    for (int c = 0; c < columns; ++c) absl::StrAppend(&row, c == 0 ? "?" : ", ?");
    row += ")";
    for (size_t shape = 0; shape < kInsertShapes; ++shape) {
      std::string& sql = sql_[shape];
      sql = std::string(head);
      for (size_t r = 0; r < (kRowsPerInsert >> shape); ++r) {
        absl::StrAppend(&sql, r == 0 ? "" : ", ", row);
      }
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

}  // namespace dorset::runtime::storage

#endif  // DORSET_RUNTIME_STORAGE_MULTI_ROW_H_
