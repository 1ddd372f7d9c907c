// The registry store's write transaction (WriteTx, store.h): the first import into an empty
// store, with the practice table's indexes deferred to its commit and the revisions' key to its
// end (PostgreSQL), and the deferred name index (SQLite).
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
// and the foreign key in its transaction. It recreates the key before it commits
// (RestoreDeferred): the key is validated over every revision then, so a revision without its
// change fails the write as before. The indexes it lists in import_deferred_index (migration 6)
// in the same transaction, and they are built, exactly as the catalog defined them, right after
// the commit, two at a time on connections of their own and beside the import's read-back of its
// changes for the caches (they were built one after the other in the transaction: ~0.35 s of the
// national import's ~1.1 s, the registry idle; bench/README.md session 23). The import's reply
// waits for them (Store::StatisticsHold; Store::Write without one), so it still comes with every
// index in place; an import killed in between leaves them listed, and the next start builds
// them. Meanwhile the new rows are readable without them (slower, the same results). DDL is
// transactional here: a rollback (an error, validate_only, a retry) restores them untouched and
// lists nothing. The cost: the transaction holds practice, practice_revision and change
// exclusively until it commits, so readers of the new store wait for the first import instead
// of reading the empty store. Only when the store's role owns the tables (it made them);
// otherwise the rows go in as always.
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

// PostgreSQL: the indexes (the third column their name) before the foreign key (no name), the
// indexes whose builds cost most per row first (GIN before b-tree), for the builders to share
// them out evenly (store.cc). An index's statement has IF NOT EXISTS: it may run again after a
// crash (Store::BuildDeferredIndexes) when it had been built and not yet taken off the list.
constexpr DeferQueries kPostgresDefer = {
    "SELECT (NOT EXISTS (SELECT 1 FROM practice) AND NOT EXISTS (SELECT 1 FROM practice_revision) "
    "AND pg_has_role((SELECT relowner FROM pg_class WHERE oid = 'practice'::regclass), 'USAGE') "
    "AND pg_has_role((SELECT relowner FROM pg_class WHERE oid = "
    "'practice_revision'::regclass), 'USAGE'))::int",
    "SELECT d.drop_sql, d.make_sql, d.name FROM (SELECT format('DROP INDEX %I.%I', n.nspname, "
    "i.relname) AS drop_sql, 'CREATE INDEX IF NOT EXISTS ' || substr(pg_get_indexdef(i.oid), "
    "length('CREATE INDEX ') + 1) AS make_sql, i.relname::text AS name, "
    "a.amname = 'btree' AS later FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN "
    "pg_namespace n ON n.oid = i.relnamespace JOIN pg_am a ON a.oid = i.relam WHERE x.indrelid = "
    "'practice'::regclass AND NOT x.indisunique AND NOT x.indisprimary UNION ALL SELECT "
    "format('ALTER TABLE practice_revision DROP CONSTRAINT %I', conname), format('ALTER TABLE "
    "practice_revision ADD CONSTRAINT %I ', conname) || pg_get_constraintdef(oid), '', true FROM "
    "pg_constraint WHERE conrelid = 'practice_revision'::regclass AND contype = 'f') d "
    "ORDER BY d.name = '', d.later, d.name"};

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
  const bool postgres = tx_.engine() == Engine::kPostgres;
  std::vector<std::string> drop;
  std::vector<std::pair<std::string, std::string>> after_commit;  // name, definition
  {
    ASSIGN_OR_RETURN(Statement defs, tx_.Prepare(queries.definitions));
    while (true) {
      ASSIGN_OR_RETURN(bool row, defs.Step());
      if (!row) break;
      drop.push_back(defs.Text(0));
      if (postgres && !defs.Text(2).empty()) {
        after_commit.emplace_back(defs.Text(2), defs.Text(1));
      } else {
        restore_.push_back(defs.Text(1));
      }
    }
  }
  for (const std::string& sql : drop) RETURN_IF_ERROR(tx_.Exec(sql));
  // PostgreSQL's indexes are listed in this transaction and built after its commit (migration
  // 6): committed or rolled back with the rows, so no store is ever left without them unlisted.
  for (size_t i = 0; i < after_commit.size(); ++i) {
    ASSIGN_OR_RETURN(Statement list,
                     tx_.Prepare("INSERT INTO import_deferred_index (name, position, definition) "
                                 "VALUES (?, ?, ?)"));
    list.Bind(1, after_commit[i].first)
        .Bind(2, static_cast<int64_t>(i))
        .Bind(3, after_commit[i].second);
    RETURN_IF_ERROR(list.Run());
  }
  for (auto& [name, definition] : after_commit) {
    indexes_after_commit_.push_back(std::move(definition));
  }
  if (!indexes_after_commit_.empty() && on_indexes_listed_) on_indexes_listed_();
  // practice is empty and held exclusively (DROP INDEX locks it; SQLite's writer is alone): from
  // here LoadPractices reads only codes this transaction may have written.
  bulk_sql::ResetFilter(written_filter_);
  return absl::OkStatus();
}

absl::Status WriteTx::RestoreDeferred() {
  // The foreign key (PostgreSQL) and SQLite's two indexes: in the transaction, before it commits.
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
