#include "runtime/storage/copy.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
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
          .seeded_when = ""};
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

std::string ColumnList(const CopyTable& table) {
  std::vector<std::string> names;
  for (const CopyColumn& column : table.columns) names.push_back(column.name);
  return absl::StrJoin(names, ", ");
}

absl::StatusOr<Rows> ReadTable(Transaction& tx, const CopyTable& table) {
  ASSIGN_OR_RETURN(Statement select,
                   tx.Prepare(absl::StrCat("SELECT ", ColumnList(table), " FROM ", table.name,
                                           " ORDER BY ", table.order_by)));
  Rows rows;
  while (true) {
    ASSIGN_OR_RETURN(bool more, select.Step());
    if (!more) break;
    Row row(table.columns.size());
    for (size_t i = 0; i < table.columns.size(); ++i) {
      const int column = static_cast<int>(i);
      if (select.IsNull(column)) {
        row[i].null = true;
      } else if (table.columns[i].type == CopyColumn::Type::kInt) {
        row[i].number = select.Int(column);
      } else if (table.columns[i].type == CopyColumn::Type::kBlob) {
        row[i].text = select.Blob(column);
      } else {
        row[i].text = select.Text(column);
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

absl::StatusOr<std::vector<Rows>> ReadTables(Transaction& tx, const CopyPlan& plan) {
  std::vector<Rows> tables;
  for (const CopyTable& table : plan.tables) {
    ASSIGN_OR_RETURN(Rows rows, ReadTable(tx, table));
    tables.push_back(std::move(rows));
  }
  return tables;
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

absl::Status InsertTable(Transaction& tx, const CopyTable& table, const Rows& rows) {
  std::vector<std::string> marks(table.columns.size(), "?");
  ASSIGN_OR_RETURN(Statement insert,
                   tx.Prepare(absl::StrCat("INSERT INTO ", table.name, " (", ColumnList(table),
                                           ") VALUES (", absl::StrJoin(marks, ", "), ")")));
  for (const Row& row : rows) {
    insert.Reset();
    for (size_t i = 0; i < row.size(); ++i) {
      const int index = static_cast<int>(i) + 1;
      if (row[i].null) {
        insert.BindNull(index);
      } else if (table.columns[i].type == CopyColumn::Type::kInt) {
        insert.Bind(index, row[i].number);
      } else if (table.columns[i].type == CopyColumn::Type::kBlob) {
        insert.BindBlob(index, row[i].text);
      } else {
        insert.Bind(index, row[i].text);
      }
    }
    absl::Status status = insert.Run();
    if (!status.ok()) {
      return absl::Status(status.code(),
                          absl::StrCat("copying table ", table.name, ": ", status.message()));
    }
  }
  if (!table.identity_column.empty() && tx.engine() == Engine::kPostgres) {
    // Rows inserted with their ids leave the identity's sequence behind them: move it past the
    // highest, so the service's next insert does not collide.
    ASSIGN_OR_RETURN(Statement setval,
                     tx.Prepare(absl::StrCat("SELECT setval(pg_get_serial_sequence('", table.name,
                                             "', '", table.identity_column,
                                             "'), (SELECT COALESCE(MAX(", table.identity_column,
                                             "), 0) + 1 FROM ", table.name, "), false)")));
    RETURN_IF_ERROR(setval.Run());
  }
  return absl::OkStatus();
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

absl::StatusOr<CopyReport> CopyService(Database& from, Database& to, const CopyPlan& plan) {
  // The source in one snapshot.
  std::vector<Rows> source;
  RETURN_IF_ERROR(from.Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(source, ReadTables(tx, plan));
    return absl::OkStatus();
  }));

  // The target in one write transaction: empty → copy all; equal → nothing; else refuse.
  bool already_copied = false;
  RETURN_IF_ERROR(to.Write([&](Transaction& tx) -> absl::Status {
    already_copied = false;  // this function may run again after a serialization failure
    ASSIGN_OR_RETURN(std::vector<Rows> target, ReadTables(tx, plan));
    bool empty = true;
    for (size_t t = 0; t < plan.tables.size(); ++t) {
      if (plan.tables[t].seeded_when.empty()) {
        empty = empty && target[t].empty();
      } else {
        ASSIGN_OR_RETURN(bool fresh, OnlySeededRows(tx, plan.tables[t]));
        empty = empty && fresh;
      }
    }
    if (!empty) {
      for (size_t t = 0; t < plan.tables.size(); ++t) {
        if (target[t] != source[t]) {
          return absl::FailedPreconditionError(absl::StrCat(
              "the target already holds other ", plan.service, " data (table ", plan.tables[t].name,
              ": ", target[t].size(), " rows there, ", source[t].size(), " in the source",
              target[t].size() == source[t].size() ? ", not the same" : "",
              "); copy only into an empty database or one holding exactly this copy"));
        }
      }
      already_copied = true;
      return absl::OkStatus();
    }
    for (size_t t = 0; t < plan.tables.size(); ++t) {
      if (!plan.tables[t].seeded_when.empty()) {
        // The migrations' own rows make way for the source's.
        RETURN_IF_ERROR(tx.Exec(absl::StrCat("DELETE FROM ", plan.tables[t].name)));
      }
      RETURN_IF_ERROR(InsertTable(tx, plan.tables[t], source[t]));
    }
    return absl::OkStatus();
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
        ASSIGN_OR_RETURN(int64_t n, CountRows(tx, plan.tables[t].name));
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
