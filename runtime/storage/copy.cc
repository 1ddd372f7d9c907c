#include "runtime/storage/copy.h"

#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "runtime/status/status_macros.h"

namespace dorset::runtime::storage {

CopyTable IdempotencyRecordCopyTable() {
  using Type = CopyColumn::Type;
  return {.name = "idempotency_record",
          .columns = {{"request_id", Type::kText},
                      {"method", Type::kText},
                      {"principal", Type::kText},
                      {"request_hash", Type::kText},
                      {"reply", Type::kBlob},
                      {"create_micros", Type::kInt}},
          .order_by = "request_id",
          .identity_column = "",
          .seeded_when = "",
          .read_from = "idempotency_records"};
}
namespace {

// One stored value, compared the same way whichever engine it came from.
struct Cell {
  bool null = false;
  int64_t number = 0;
  std::string text;
  bool operator==(const Cell&) const = default;
};
using Row = std::vector<Cell>;
using Rows = std::vector<Row>;

// Where a table's rows are read and counted.
const std::string& ReadFrom(const CopyTable& table) {
  return table.read_from.empty() ? table.name : table.read_from;
}

std::string ColumnList(const CopyTable& table) {
  std::vector<std::string> names;
  for (const CopyColumn& column : table.columns) names.push_back(column.name);
  return absl::StrJoin(names, ", ");
}

void BindCell(Statement& statement, int index, const CopyColumn& column, const Cell& cell) {
  if (cell.null) {
    statement.BindNull(index);
  } else if (column.type == CopyColumn::Type::kInt) {
    statement.Bind(index, cell.number);
  } else if (column.type == CopyColumn::Type::kBlob) {
    statement.BindBlob(index, cell.text);
  } else {
    statement.Bind(index, cell.text);
  }
}

// Reads a table in its key order, `batch_rows` rows at a time (keyset: each batch starts after
// the last key of the one before), so a copy holds at most one batch of a table in memory.
class BatchReader {
 public:
  BatchReader(Transaction& tx, const CopyTable& table, int64_t batch_rows)
      : tx_(tx), table_(table), batch_rows_(batch_rows) {}

  // The next batch; empty once the table is read to its end.
  absl::StatusOr<Rows> Next() {
    if (done_) return Rows{};
    if (keys_.empty()) RETURN_IF_ERROR(FindKeys());
    const bool first = last_key_.empty();
    std::optional<Statement>& select = first ? first_ : after_;
    if (!select.has_value()) {
      std::vector<std::string> names;
      std::vector<std::string> marks;
      for (size_t key : keys_) {
        names.push_back(table_.columns[key].name);
        marks.push_back("?");
      }
      // A row value comparison, (a, b) > (?, ?): the same on both engines.
      const std::string after = first ? ""
                                      : absl::StrCat(" WHERE (", absl::StrJoin(names, ", "),
                                                     ") > (", absl::StrJoin(marks, ", "), ")");
      ASSIGN_OR_RETURN(select, tx_.Prepare(absl::StrCat("SELECT ", ColumnList(table_), " FROM ",
                                                        ReadFrom(table_), after, " ORDER BY ",
                                                        table_.order_by, " LIMIT ", batch_rows_)));
    }
    select->Reset();
    for (size_t k = 0; k < last_key_.size(); ++k) {
      BindCell(*select, static_cast<int>(k) + 1, table_.columns[keys_[k]], last_key_[k]);
    }
    Rows rows;
    while (true) {
      ASSIGN_OR_RETURN(bool more, select->Step());
      if (!more) break;
      Row row(table_.columns.size());
      for (size_t i = 0; i < table_.columns.size(); ++i) {
        const int column = static_cast<int>(i);
        if (select->IsNull(column)) {
          row[i].null = true;
        } else if (table_.columns[i].type == CopyColumn::Type::kInt) {
          row[i].number = select->Int(column);
        } else if (table_.columns[i].type == CopyColumn::Type::kBlob) {
          row[i].text = select->Blob(column);
        } else {
          row[i].text = select->Text(column);
        }
      }
      rows.push_back(std::move(row));
    }
    select->Reset();  // let go of the engine's result before the next batch
    if (static_cast<int64_t>(rows.size()) < batch_rows_) done_ = true;
    if (!rows.empty()) {
      last_key_.clear();
      for (size_t key : keys_) last_key_.push_back(rows.back()[key]);
    }
    return rows;
  }

 private:
  // The columns of order_by ("a, b"), each one of the table's columns.
  absl::Status FindKeys() {
    for (absl::string_view part : absl::StrSplit(table_.order_by, ',')) {
      const absl::string_view name = absl::StripAsciiWhitespace(part);
      size_t index = table_.columns.size();
      for (size_t i = 0; i < table_.columns.size(); ++i) {
        if (table_.columns[i].name == name) index = i;
      }
      if (index == table_.columns.size()) {
        return absl::InternalError(absl::StrCat("copy plan: table ", table_.name, " orders by ",
                                                name, ", which is not one of its columns"));
      }
      keys_.push_back(index);
    }
    return absl::OkStatus();
  }

  Transaction& tx_;
  const CopyTable& table_;
  const int64_t batch_rows_;
  std::vector<size_t> keys_;
  Row last_key_;  // the key of the last row read; empty before the first batch
  std::optional<Statement> first_;
  std::optional<Statement> after_;
  bool done_ = false;
};

// True when the table has at least one row.
absl::StatusOr<bool> AnyRow(Transaction& tx, const std::string& table) {
  ASSIGN_OR_RETURN(Statement any, tx.Prepare(absl::StrCat("SELECT 1 FROM ", table, " LIMIT 1")));
  return any.Step();
}

absl::StatusOr<int64_t> CountRows(Transaction& tx, const std::string& table) {
  ASSIGN_OR_RETURN(Statement count, tx.Prepare(absl::StrCat("SELECT COUNT(*) FROM ", table)));
  ASSIGN_OR_RETURN(bool row, count.Step());
  if (!row) return absl::InternalError("COUNT(*) gave no row");
  return count.Int(0);
}

absl::StatusOr<std::vector<std::string>> RunCheck(Transaction& tx, const CopyCheck& check) {
  ASSIGN_OR_RETURN(Statement query, tx.Prepare(check.sql));
  std::vector<std::string> rows;
  while (true) {
    ASSIGN_OR_RETURN(bool more, query.Step());
    if (!more) break;
    std::vector<std::string> columns;
    // Read as text: SQLite gives an integer's digits, PostgreSQL's text results are the same
    // digits (also for SUM, which is numeric there), so equal values give equal strings.
    for (int i = 0; i < check.columns; ++i) {
      columns.push_back(query.IsNull(i) ? "NULL" : query.Text(i));
    }
    rows.push_back(absl::StrJoin(columns, "|"));
  }
  return rows;
}

// True when every row of a seeded table is one a just-migrated database holds.
absl::StatusOr<bool> OnlySeededRows(Transaction& tx, const CopyTable& table) {
  ASSIGN_OR_RETURN(Statement count,
                   tx.Prepare(absl::StrCat("SELECT COUNT(*) FROM ", table.name, " WHERE NOT (",
                                           table.seeded_when, ")")));
  ASSIGN_OR_RETURN(bool row, count.Step());
  if (!row) return absl::InternalError("COUNT(*) gave no row");
  return count.Int(0) == 0;
}

absl::Status InsertRows(Statement& insert, const CopyTable& table, const Rows& rows) {
  for (const Row& row : rows) {
    insert.Reset();
    for (size_t i = 0; i < row.size(); ++i) {
      BindCell(insert, static_cast<int>(i) + 1, table.columns[i], row[i]);
    }
    absl::Status status = insert.Run();
    if (!status.ok()) {
      return absl::Status(status.code(),
                          absl::StrCat("copying table ", table.name, ": ", status.message()));
    }
  }
  return absl::OkStatus();
}

// Copies one table from `from` to `to`, a batch at a time.
absl::Status CopyTableRows(Transaction& from, Transaction& to, const CopyTable& table,
                           int64_t batch_rows) {
  std::vector<std::string> marks(table.columns.size(), "?");
  ASSIGN_OR_RETURN(Statement insert,
                   to.Prepare(absl::StrCat("INSERT INTO ", table.name, " (", ColumnList(table),
                                           ") VALUES (", absl::StrJoin(marks, ", "), ")")));
  BatchReader source(from, table, batch_rows);
  while (true) {
    ASSIGN_OR_RETURN(Rows rows, source.Next());
    if (rows.empty()) break;
    RETURN_IF_ERROR(InsertRows(insert, table, rows));
  }
  if (!table.identity_column.empty() && to.engine() == Engine::kPostgres) {
    // Rows inserted with their ids leave the identity's sequence behind them: move it past the
    // highest, so the service's next insert does not collide.
    ASSIGN_OR_RETURN(Statement setval,
                     to.Prepare(absl::StrCat("SELECT setval(pg_get_serial_sequence('", table.name,
                                             "', '", table.identity_column,
                                             "'), (SELECT COALESCE(MAX(", table.identity_column,
                                             "), 0) + 1 FROM ", table.name, "), false)")));
    RETURN_IF_ERROR(setval.Run());
  }
  return absl::OkStatus();
}

// FAILED_PRECONDITION naming the first row that differs, OK when both tables hold the same rows
// (read side by side, a batch at a time).
absl::Status CompareTable(Transaction& source, Transaction& target, const CopyTable& table,
                          const std::string& service, int64_t batch_rows) {
  BatchReader from(source, table, batch_rows);
  BatchReader to(target, table, batch_rows);
  while (true) {
    ASSIGN_OR_RETURN(Rows a, from.Next());
    ASSIGN_OR_RETURN(Rows b, to.Next());
    if (a != b) {
      ASSIGN_OR_RETURN(int64_t in_source, CountRows(source, ReadFrom(table)));
      ASSIGN_OR_RETURN(int64_t in_target, CountRows(target, ReadFrom(table)));
      return absl::FailedPreconditionError(
          absl::StrCat("the target already holds other ", service, " data (table ", table.name,
                       ": ", in_target, " rows there, ", in_source, " in the source",
                       in_target == in_source ? ", not the same" : "",
                       "); copy only into an empty database or one holding exactly this copy"));
    }
    if (a.empty()) return absl::OkStatus();
  }
}

}  // namespace

bool CopyReport::Verified() const {
  for (const TableCount& table : tables) {
    if (table.source_rows != table.target_rows) return false;
  }
  for (const CheckResult& check : checks) {
    if (check.source_rows != check.target_rows) return false;
  }
  return true;
}

absl::StatusOr<CopyReport> CopyService(Database& from, Database& to, const CopyPlan& plan,
                                       const CopyOptions& options) {
  if (options.batch_rows < 1) return absl::InvalidArgumentError("copy batch_rows must be >= 1");
  // The source in one snapshot, the target in one write transaction, both open at once: rows
  // move a batch at a time. Target empty -> copy all; equal -> nothing; else refuse.
  bool already_copied = false;
  RETURN_IF_ERROR(from.Read([&](Transaction& source) -> absl::Status {
    return to.Write([&](Transaction& tx) -> absl::Status {
      already_copied = false;  // this function may run again after a serialization failure
      bool empty = true;
      for (const CopyTable& table : plan.tables) {
        if (table.seeded_when.empty()) {
          ASSIGN_OR_RETURN(bool any, AnyRow(tx, ReadFrom(table)));
          empty = empty && !any;
        } else {
          ASSIGN_OR_RETURN(bool fresh, OnlySeededRows(tx, table));
          empty = empty && fresh;
        }
      }
      if (!empty) {
        for (const CopyTable& table : plan.tables) {
          RETURN_IF_ERROR(CompareTable(source, tx, table, plan.service, options.batch_rows));
        }
        already_copied = true;
        return absl::OkStatus();
      }
      for (const CopyTable& table : plan.tables) {
        if (!table.seeded_when.empty()) {
          // The migrations' own rows make way for the source's.
          RETURN_IF_ERROR(tx.Exec(absl::StrCat("DELETE FROM ", table.name)));
        }
        RETURN_IF_ERROR(CopyTableRows(source, tx, table, options.batch_rows));
      }
      return absl::OkStatus();
    });
  }));

  // Verify from what each database now holds, each in one snapshot.
  CopyReport report;
  report.already_copied = already_copied;
  for (const CopyTable& table : plan.tables) {
    report.tables.emplace_back().table = table.name;
  }
  for (const CopyCheck& check : plan.checks) report.checks.emplace_back().name = check.name;
  for (Database* db : {&from, &to}) {
    const bool is_source = db == &from;
    RETURN_IF_ERROR(db->Read([&](Transaction& tx) -> absl::Status {
      for (size_t t = 0; t < plan.tables.size(); ++t) {
        ASSIGN_OR_RETURN(int64_t n, CountRows(tx, ReadFrom(plan.tables[t])));
        (is_source ? report.tables[t].source_rows : report.tables[t].target_rows) = n;
      }
      for (size_t c = 0; c < plan.checks.size(); ++c) {
        ASSIGN_OR_RETURN(std::vector<std::string> rows, RunCheck(tx, plan.checks[c]));
        (is_source ? report.checks[c].source_rows : report.checks[c].target_rows) = std::move(rows);
      }
      return absl::OkStatus();
    }));
  }
  if (!report.Verified()) {
    return absl::DataLossError(
        absl::StrCat("the copy does not verify:\n", FormatCopyReport(report)));
  }
  return report;
}

std::string FormatCopyReport(const CopyReport& report) {
  std::string out = report.already_copied
                        ? "target already held exactly this copy: nothing written\n"
                        : "copied\n";
  for (const CopyReport::TableCount& table : report.tables) {
    absl::StrAppend(&out, "  table ", table.table, ": ", table.source_rows, " rows in source, ",
                    table.target_rows, " in target",
                    table.source_rows == table.target_rows ? "" : "  MISMATCH", "\n");
  }
  for (const CopyReport::CheckResult& check : report.checks) {
    const bool same = check.source_rows == check.target_rows;
    absl::StrAppend(&out, "  check ", check.name, ": ", same ? "equal" : "MISMATCH", " (",
                    check.source_rows.size(), " rows");
    if (check.source_rows.size() == 1) absl::StrAppend(&out, ": ", check.source_rows[0]);
    if (!same && check.target_rows.size() == 1) {
      absl::StrAppend(&out, "; target: ", check.target_rows[0]);
    }
    absl::StrAppend(&out, ")\n");
  }
  return out;
}

}  // namespace dorset::runtime::storage
