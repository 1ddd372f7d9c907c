// Copying a service's data from one storage-lane database to another (SQLite to PostgreSQL or
// back), for the `dorset-store copy` admin program (tools/store, docs/storage.md). The engine-
// neutral part: each service's storage folder supplies a CopyPlan (its tables in the order that
// satisfies their foreign keys, their columns, and checks to verify), and CopyService copies
// every row with its ids in ONE target write transaction, so a copy killed part-way leaves the
// target as it was. Rows move in batches (keyset order, CopyOptions::batch_rows) read from one
// source snapshot, so the memory a copy needs is one batch, whatever the store's size. A target
// that already holds exactly the source is left alone (a re-run succeeds and changes nothing); one
// holding anything else is refused.
//
//   ASSIGN_OR_RETURN(CopyReport report, CopyService(*from, *to, finance::FinanceCopyPlan()));
//   std::cout << FormatCopyReport(report);
#ifndef DORSET_RUNTIME_STORAGE_COPY_H_
#define DORSET_RUNTIME_STORAGE_COPY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/storage/database.h"
#include "runtime/storage/open.h"

namespace dorset::runtime::storage {

struct CopyColumn {
  enum class Type { kInt, kText, kBlob };  // NULL allowed in each
  std::string name;
  Type type = Type::kInt;
};

struct CopyTable {
  std::string name;
  std::vector<CopyColumn> columns;
  std::string order_by;  // a total order (the key), parents before children
  // A PostgreSQL identity column whose sequence must move past the copied ids ("" for none).
  std::string identity_column;
  // For a table the migrations fill (e.g. a counter's one row): a condition every row of a
  // just-migrated database meets (e.g. "last_seq = 0"). Such rows do not make the target
  // non-empty, and the copy replaces them with the source's. "" for an ordinary table.
  std::string seeded_when;
  // Where the rows are read and counted, when not the table itself: a view of every row (the
  // idempotency records, which SQLite keeps in two tables: request_log.h). "" for the table.
  std::string read_from;
};

// The shared idempotency record's table (idempotency.h), which every service's plan copies.
CopyTable IdempotencyRecordCopyTable();

// A query run on both databases after the copy; its rows (read as text) must be equal.
struct CopyCheck {
  std::string name;  // e.g. "ledger totals per scheme and year"
  std::string sql;
  int columns = 1;  // how many columns each row has
};

struct CopyPlan {
  std::string service;
  MigrationsFor migrations;
  // Run on an SQLite file before it is opened, as the service's own open does (a pre-lane
  // store's PRAGMA user_version carried over; the registry's text repair first).
  absl::Status (*prepare_sqlite)(const std::string& path) = nullptr;
  OpenSettings open_settings;     // as the service opens its database (password set per side)
  std::vector<CopyTable> tables;  // in insert order
  std::vector<CopyCheck> checks;
};

struct CopyReport {
  bool already_copied = false;  // the target held exactly the source: nothing written
  struct TableCount {
    std::string table;
    int64_t source_rows = 0;
    int64_t target_rows = 0;
  };
  std::vector<TableCount> tables;
  struct CheckResult {
    std::string name;
    std::vector<std::string> source_rows;  // each row's columns joined by '|'
    std::vector<std::string> target_rows;
  };
  std::vector<CheckResult> checks;
  // True when every count and every check agrees.
  bool Verified() const;
};

struct CopyOptions {
  // Rows of one table read (and compared or written) at a time. The bound on a copy's memory:
  // at most one batch per side, e.g. 500 idempotency replies of up to a few KiB each.
  int64_t batch_rows = 500;
};

// Copies `plan`'s tables from `from` to `to` (both opened with plan.migrations). The target must
// hold none of the tables' rows, or exactly the source's (then nothing is written):
// otherwise FAILED_PRECONDITION with the first table that differs. Afterwards counts and checks
// are read from both and returned; a mismatch is DATA_LOSS (with the report's text). Each
// table's order_by must name its key columns (a total order), each one of its columns.
absl::StatusOr<CopyReport> CopyService(Database& from, Database& to, const CopyPlan& plan,
                                       const CopyOptions& options = {});

// A few lines for people: the outcome, rows per table and each check.
std::string FormatCopyReport(const CopyReport& report);

}  // namespace dorset::runtime::storage

#endif  // DORSET_RUNTIME_STORAGE_COPY_H_
