// The registry store's write transaction (WriteTx, store.h): the first import into an empty
// store, with the practice table's indexes and the revisions' key deferred to its end
// (PostgreSQL), and the deferred name index (SQLite).
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/database.h"
#include "services/registry/storage/bulk_sql.h"
#include "services/registry/storage/store.h"

namespace dorset::registry {

using runtime::storage::Engine;
using runtime::storage::Statement;

// ---- The first import (PostgreSQL) ----
//
// Into an empty store, the national import's rows are the whole table, and maintaining
// practice's seven secondary b-tree indexes and the trigram index row by row, and checking
// every revision's foreign key to its change row by row (PostgreSQL looks the change up and
// locks it), cost more than building the indexes once from the rows and checking the key once
// for all (issue 16, bench/README.md). So a bulk write whose first batch of practices is full
// (WriteTx::kBatchRows rows) into a store without practices or revisions drops those indexes
// and the foreign key in its transaction, and recreates them, exactly as the catalog defined
// them, before it commits (RestoreDeferred): the key is validated over every revision then,
// so a revision without its change fails the write as before. DDL is transactional here: a
// rollback (an error, validate_only, a retry) restores them untouched. The cost: the
// transaction holds practice, practice_revision and change exclusively until it commits, so
// readers of the new store wait for the first import instead of reading the empty store. Only
// when the store's role owns the tables (it made them); otherwise the rows go in as always.
//
// SQLite (issue 16, session 19): the same for the two secondary indexes of practice whose order
// is not the file's (by name and by postcode; SQLite does not enforce the revisions' foreign
// key). Row by row, each took a b-tree search and a page split every few rows at random places;
// CREATE INDEX sorts the rows once and fills its pages in order. The other indexes lead with a
// column of few values, or the update time (the same for the whole import), then the code, and
// epraccur comes in code order: their rows are appended, cheaper than a scan and a sort of the
// table each (callgrind: deferring all eight cost more to rebuild than it saved). SQLite's DDL
// is transactional too, and its writer is alone.
namespace {

// Per engine: whether the store is empty (and, on PostgreSQL, the store's role owns the tables),
// as an integer; and a row for each thing deferred, the statement that drops it and the one that
// makes it again exactly as the catalog defines it.
struct DeferQueries {
  const char* empty;
  const char* definitions;
};

constexpr DeferQueries kSqliteDefer = {
    "SELECT NOT EXISTS (SELECT 1 FROM practice) AND NOT EXISTS (SELECT 1 FROM practice_revision)",
    "SELECT 'DROP INDEX ' || name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = "
    "'practice' AND name IN ('practice_by_name', 'practice_by_postcode') AND sql IS NOT NULL "
    "ORDER BY name"};

constexpr DeferQueries kPostgresDefer = {
    "SELECT (NOT EXISTS (SELECT 1 FROM practice) AND NOT EXISTS (SELECT 1 FROM practice_revision) "
    "AND pg_has_role((SELECT relowner FROM pg_class WHERE oid = 'practice'::regclass), 'USAGE') "
    "AND pg_has_role((SELECT relowner FROM pg_class WHERE oid = "
    "'practice_revision'::regclass), 'USAGE'))::int",
    "SELECT format('DROP INDEX %I.%I', n.nspname, i.relname), pg_get_indexdef(i.oid) FROM "
    "pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace n ON n.oid = "
    "i.relnamespace WHERE x.indrelid = 'practice'::regclass AND NOT x.indisunique AND NOT "
    "x.indisprimary UNION ALL SELECT format('ALTER TABLE practice_revision DROP CONSTRAINT %I', "
    "conname), format('ALTER TABLE practice_revision ADD CONSTRAINT %I ', conname) || "
    "pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = "
    "'practice_revision'::regclass AND contype = 'f'"};

}  // namespace

absl::Status WriteTx::DeferIndexesIfEmpty(size_t rows) {
  if (empty_load_checked_ || !bulk_) return absl::OkStatus();
  empty_load_checked_ = true;
  if (rows < kBatchRows) return absl::OkStatus();
  const DeferQueries& queries = tx_.engine() == Engine::kSqlite ? kSqliteDefer : kPostgresDefer;
  {
    ASSIGN_OR_RETURN(Statement empty, tx_.Prepare(queries.empty));
    ASSIGN_OR_RETURN(bool row, empty.Step());
    if (!row || empty.Int(0) == 0) return absl::OkStatus();
  }
  std::vector<std::string> drop;
  {
    ASSIGN_OR_RETURN(Statement defs, tx_.Prepare(queries.definitions));
    while (true) {
      ASSIGN_OR_RETURN(bool row, defs.Step());
      if (!row) break;
      drop.push_back(defs.Text(0));
      restore_.push_back(defs.Text(1));
    }
  }
  for (const std::string& sql : drop) RETURN_IF_ERROR(tx_.Exec(sql));
  // practice is empty and held exclusively (DROP INDEX locks it; SQLite's writer is alone): from
  // here LoadPractices reads only codes this transaction may have written.
  bulk_sql::ResetFilter(written_filter_);
  return absl::OkStatus();
}

absl::Status WriteTx::RestoreDeferred() {
  for (const std::string& sql : restore_) RETURN_IF_ERROR(tx_.Exec(sql));
  restore_.clear();
  return absl::OkStatus();
}

absl::Status WriteTx::BeginBulk() {
  bulk_ = true;
  if (tx_.engine() != Engine::kSqlite || name_index_deferred_) return absl::OkStatus();
  RETURN_IF_ERROR(
      tx_.Exec("INSERT INTO practice_search_deferred (id) VALUES (1) "
               "ON CONFLICT (id) DO NOTHING"));
  name_index_deferred_ = true;
  return absl::OkStatus();
}

absl::Status WriteTx::FinishNameIndex() {
  if (!name_index_deferred_) return absl::OkStatus();
  name_index_deferred_ = false;
  RETURN_IF_ERROR(tx_.Exec("DELETE FROM practice_search_deferred"));
  // A renamed practice's old entry goes first; a new practice has none.
  RETURN_IF_ERROR(
      tx_.Exec("DELETE FROM practice_search WHERE rowid IN (SELECT r.id FROM "
               "practice_search_pending q JOIN practice_search_row r ON r.ods_code = q.ods_code)"));
  RETURN_IF_ERROR(
      tx_.Exec("INSERT INTO practice_search (rowid, name) SELECT r.id, LOWER(p.display_name) FROM "
               "practice_search_pending q JOIN practice_search_row r ON r.ods_code = q.ods_code "
               "JOIN practice p ON p.ods_code = q.ods_code"));
  return tx_.Exec("DELETE FROM practice_search_pending");
}

}  // namespace dorset::registry
