// The registry store's practice queries (store.h): name and postcode search and pages of
// practices (keyset, counted once per data version); a practice's revisions are in
// practice_revisions.cc.
#include <map>
#include <utility>
#include <variant>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "runtime/base/string_view.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/database.h"
#include "runtime/storage/etag.h"
#include "services/registry/closure_policy.h"
#include "services/registry/storage/practice_query_sql.h"
#include "services/registry/storage/storage_rows.h"
#include "services/registry/storage/store.h"
#include "services/registry/text.h"
#include "services/registry/validation.h"

namespace dorset::registry {

using google::protobuf::util::TimeUtil;
using practice_query_sql::BindAll;
using practice_query_sql::BuildQuery;
using practice_query_sql::QuerySql;
using practice_query_sql::UseNameIndex;
using runtime::storage::Database;
using runtime::storage::Engine;
using runtime::storage::Statement;
using runtime::storage::Transaction;
using storage_rows::kPracticeColumns;
using storage_rows::ParsePractice;
using storage_rows::ReadChangeRow;
using storage_rows::ReadPracticeRow;

namespace {

// ---- Pages of practices (issue 16) ----
//
// A page costs two things: total_size, which counts every practice the filters match, and the
// page's rows. What made a common word (say "surgery", 3,135 of 16,534 names) slow was both:
// the count read every match through the index, and so did the page, because SQLite served
// `ods_code IN (<index matches>)` by listing every match before walking its ORDER BY. Now:
// - The count is kept per data version (ListMemo): exact, computed once per version of the
//   data and query, not per call (nor per page of the same query).
// - No match: no page to read.
// - On SQLite, a name filter's page walks the ORDER BY testing each row with the LIKE, the
//   scan's own filter, when that is cheaper than listing the index's matches: when SQLite walks
//   the order without a temporary sort (EXPLAIN QUERY PLAN, kept per SQL text) and the walk,
//   expected to read (limit + 1) * rows in scope / matches rows (rows in scope: those the other
//   filters keep, counted once per version as well), reads at most half as many rows as there
//   are matches. A rare word keeps the index. Either way the WHERE clause means the same rows,
//   so pages, cursors and totals are the scan's (NameSearchTest compares them). In code order
//   the page's codes are chosen first from the covering index (CodeWalkSelect).
// - On PostgreSQL, by the same test, a page in code order is walked (practice_query_sql.cc's
// strpos, no
//   index can serve it) on the statement's generic plan, planned once per connection.
// Otherwise PostgreSQL chooses its own plan (with the statistics Store::Write refreshes after an
// import).
// PracticeQuery::Plan::kScan keeps everything as it was before the index: tests compare with it.

using Binds = std::vector<std::variant<std::string, int64_t>>;

// A count's memo key: the WHERE text and its values, unambiguous.
std::string CountKey(const std::string& where, const Binds& binds) {
  std::string key = where;
  for (const auto& b : binds) {
    if (std::holds_alternative<std::string>(b)) {
      const std::string& text = std::get<std::string>(b);
      absl::StrAppend(&key, "\x1fs", text.size(), ":", text);
    } else {
      absl::StrAppend(&key, "\x1fi", std::get<int64_t>(b));
    }
  }
  return key;
}

// The data's version in this snapshot: the change feed's last sequence.
absl::StatusOr<int64_t> DataVersion(Transaction& tx) {
  ASSIGN_OR_RETURN(Statement stmt, tx.Prepare("SELECT last_seq FROM change_sequence WHERE id = 1"));
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return runtime::Internal("the change counter row is missing");
  return stmt.Int(0);
}

// COUNT(*) of `where`, from the memo when `version` is known (>= 0).
absl::StatusOr<int64_t> CountWhere(Transaction& tx, ListMemo& memo, const std::string& where,
                                   const Binds& binds, int64_t version) {
  std::string key;
  if (version >= 0) {
    key = CountKey(where, binds);
    if (std::optional<int64_t> kept = memo.Count(key, version)) return *kept;
  }
  ASSIGN_OR_RETURN(Statement count,
                   tx.Prepare(absl::StrCat("SELECT COUNT(*) FROM practice WHERE ", where)));
  BindAll(count, binds);
  ASSIGN_OR_RETURN(bool row, count.Step());
  const int64_t total = row ? count.Int(0) : 0;
  if (version >= 0) memo.KeepCount(key, version, total);
  return total;
}

// Whether SQLite sorts the rows of `select` itself (a temporary B-tree) rather than walking an
// index in the order asked.
absl::StatusOr<bool> SqliteSorts(Transaction& tx, ListMemo& memo, const std::string& select) {
  if (std::optional<bool> kept = memo.Sorts(select)) return *kept;
  ASSIGN_OR_RETURN(Statement plan, tx.Prepare(absl::StrCat("EXPLAIN QUERY PLAN ", select)));
  bool sorts = false;
  while (true) {
    ASSIGN_OR_RETURN(bool row, plan.Step());
    if (!row) break;
    if (absl::StrContains(plan.Text(3), "TEMP B-TREE")) sorts = true;
  }
  memo.KeepSorts(select, sorts);
  return sorts;
}

// The SELECT of one page over `sql`, with the keyset position and `binds` (extended here).
std::string PageSelect(const PracticeQuery& query, const QuerySql& sql,
                       const std::optional<PracticeCursor>& after, Binds& binds) {
  const char* dir = query.descending ? "DESC" : "ASC";
  const char* cmp = query.descending ? "<" : ">";
  std::string keyset;
  binds = sql.binds;
  if (after.has_value()) {
    if (query.order == PracticeQuery::Order::kOdsCode) {
      keyset = absl::StrCat(" AND ods_code ", cmp, " ?");
      binds.emplace_back(after->ods_code);
    } else {
      keyset = absl::StrCat(" AND (", sql.sort, " ", cmp, " ? OR (", sql.sort, " = ? AND ods_code ",
                            cmp, " ?))");
      for (int i = 0; i < 2; ++i) {
        if (sql.sort_is_text) {
          binds.emplace_back(after->text);
        } else {
          binds.emplace_back(after->number);
        }
      }
      binds.emplace_back(after->ods_code);
    }
  }
  return query.order == PracticeQuery::Order::kOdsCode
             ? absl::StrCat("SELECT ods_code, data, ", kPracticeColumns, " FROM practice WHERE ",
                            sql.where, keyset, " ORDER BY ods_code ", dir, " LIMIT ?")
             : absl::StrCat("SELECT ", sql.sort, ", data, ", kPracticeColumns,
                            " FROM practice WHERE ", sql.where, keyset, " ORDER BY ", sql.sort, " ",
                            dir, ", ods_code ", dir, " LIMIT ?");
}

// A code-order walk's binds (the query's, then the cursor's code) and its keyset condition after
// the cursor ("" on the first page).
std::string WalkKeyset(const PracticeQuery& query, const QuerySql& sql,
                       const std::optional<PracticeCursor>& after, Binds& binds) {
  binds = sql.binds;
  if (!after.has_value()) return "";
  binds.emplace_back(after->ods_code);
  return absl::StrCat(" AND ods_code ", query.descending ? "<" : ">", " ?");
}

// The walk's page in code order on SQLite: the page's codes chosen by an inner SELECT that reads
// the walked index alone, then only those rows read. With the status filter, the walk is over
// practice_by_status_name (status, ods_code, display_name[, revision]; SQLite migrations 10, 11),
// which covers the name test, so an entry that does not match costs no seek into the table (~2 k
// instructions each, ~2 of every 3 entries walked for "surgery"). Same rows, order and limit as
// PageSelect's.
std::string CodeWalkSelect(const PracticeQuery& query, const QuerySql& sql,
                           const std::optional<PracticeCursor>& after, int limit, Binds& binds) {
  const char* dir = query.descending ? "DESC" : "ASC";
  const std::string keyset = WalkKeyset(query, sql, after, binds);
  binds.emplace_back(static_cast<int64_t>(limit) + 1);
  return absl::StrCat("SELECT ods_code, data, ", kPracticeColumns,
                      " FROM practice WHERE ods_code IN (SELECT ods_code FROM practice WHERE ",
                      sql.where, keyset, " ORDER BY ods_code ", dir, " LIMIT ?) ORDER BY ods_code ",
                      dir, " LIMIT ?");
}

// The same walk as CodeWalkSelect's inner SELECT, with each code's revision and no rows read:
// practice_by_status_name (status, ods_code, display_name, revision; SQLite migration 11) covers
// it. The page is then the kept bytes of each (code, revision) (PracticeBytesMemo::
// AppendKeptField), when every one is kept: after a page's first call, every call until a write
// changes one of its practices. A page of 50 cost ~700 k instructions with its 51 rows read
// (a seek each, ten columns decoded and copied) and the codes listed into a temporary table for
// the IN; the walk alone is the ~90 k of the index entries it tests (issue 16).
std::string KeptWalkSelect(const PracticeQuery& query, const QuerySql& sql,
                           const std::optional<PracticeCursor>& after, Binds& binds) {
  const char* dir = query.descending ? "DESC" : "ASC";
  const std::string keyset = WalkKeyset(query, sql, after, binds);
  return absl::StrCat("SELECT ods_code, revision FROM practice WHERE ", sql.where, keyset,
                      " ORDER BY ods_code ", dir, " LIMIT ?");
}

bool HasIndexedName(const PracticeQuery& q) {
  return (!q.name_contains.empty() && UseNameIndex(q, q.name_contains)) ||
         (!q.name_prefix.empty() && UseNameIndex(q, q.name_prefix));
}

// Whether this page of a name search on SQLite is cheaper walked (see above).
absl::StatusOr<bool> WalkNamePage(Transaction& tx, ListMemo& memo, const PracticeQuery& query,
                                  int64_t matches, int limit, int64_t version,
                                  const std::string& walk_select) {
  PracticeQuery others = query;
  others.name_contains.clear();
  others.name_prefix.clear();
  const QuerySql scope_sql = BuildQuery(others, tx.engine());
  ASSIGN_OR_RETURN(int64_t scope, CountWhere(tx, memo, scope_sql.where, scope_sql.binds, version));
  // Expected rows walked <= matches / 2, in integers: 2 * (limit + 1) * scope <= matches^2.
  const double walked = 2.0 * (static_cast<double>(limit) + 1) * static_cast<double>(scope);
  if (walked > static_cast<double>(matches) * static_cast<double>(matches)) return false;
  if (tx.engine() != Engine::kSqlite) return true;  // code order only (ListPracticeRows)
  ASSIGN_OR_RETURN(bool sorts, SqliteSorts(tx, memo, walk_select));
  return !sorts;
}

}  // namespace

absl::Status Store::ListPracticeRows(const PracticeQuery& query,
                                     const std::optional<PracticeCursor>& after, int limit,
                                     absl::FunctionRef<void()> start,
                                     absl::FunctionRef<void(const Statement&)> row,
                                     std::optional<PracticeCursor>& last, int& total_size,
                                     std::optional<KeptRow> kept) {
  const Engine engine = db_->engine();
  const bool memo = query.plan == PracticeQuery::Plan::kIndexed;
  const QuerySql sql = BuildQuery(query, engine);
  // On PostgreSQL the walk is asked for in code order only, the order of its primary key.
  const bool may_walk =
      memo && HasIndexedName(query) &&
      (engine == Engine::kSqlite || query.order == PracticeQuery::Order::kOdsCode);
  return db_->Read([&](Transaction& tx) -> absl::Status {
    start();
    last.reset();
    total_size = 0;
    int64_t version = -1;  // unknown: nothing from the memo
    if (memo) {
      ASSIGN_OR_RETURN(version, DataVersion(tx));
    }
    ASSIGN_OR_RETURN(int64_t total, CountWhere(tx, list_memo_, sql.where, sql.binds, version));
    total_size = static_cast<int>(total);
    if (memo && total == 0) return absl::OkStatus();

    Binds binds;
    std::string select = PageSelect(query, sql, after, binds);
    if (may_walk) {
      const QuerySql walk_sql = BuildQuery(query, engine, /*name_index=*/false);
      Binds walk_binds;
      std::string walk_select =
          engine == Engine::kSqlite && query.order == PracticeQuery::Order::kOdsCode
              ? CodeWalkSelect(query, walk_sql, after, limit, walk_binds)
              : PageSelect(query, walk_sql, after, walk_binds);
      ASSIGN_OR_RETURN(bool walk,
                       WalkNamePage(tx, list_memo_, query, total, limit, version, walk_select));
      if (walk && kept.has_value() && engine == Engine::kSqlite &&
          query.order == PracticeQuery::Order::kOdsCode) {
        Binds kept_binds;
        const std::string kept_select = KeptWalkSelect(query, walk_sql, after, kept_binds);
        ASSIGN_OR_RETURN(bool sorts, SqliteSorts(tx, list_memo_, kept_select));
        if (!sorts) {
          ASSIGN_OR_RETURN(Statement stmt, tx.Prepare(kept_select));
          BindAll(stmt, kept_binds);
          stmt.Bind(static_cast<int>(kept_binds.size()) + 1, static_cast<int64_t>(limit + 1));
          bool all_kept = true;
          int rows = 0;
          std::string code;
          while (true) {
            ASSIGN_OR_RETURN(bool more, stmt.Step());
            if (!more) break;
            if (rows == limit) {  // there is at least one more row
              last = PracticeCursor{.text = code, .ods_code = code};
              break;
            }
            code = stmt.Text(0);
            if (!(*kept)(code, stmt.Int(1))) {
              all_kept = false;
              break;
            }
            ++rows;
          }
          if (all_kept) return absl::OkStatus();
          // Not every practice's bytes are kept: the page is read below, as without the memo.
          start();
          last.reset();
          total_size = static_cast<int>(total);
        }
      }
      if (walk) {
        select = std::move(walk_select);
        binds = std::move(walk_binds);
      }
      if (walk && engine == Engine::kPostgres) {
        // PostgreSQL planned the LIKE's page again on every call (a custom plan per text: ~0.15
        // ms, more than the walk's 0.07-0.12 ms); for the walk the prepared statement's generic
        // plan is kept, for this transaction only, sent in the same round trip as the page.
        ASSIGN_OR_RETURN(
            Statement generic,
            tx.Prepare("SELECT set_config('plan_cache_mode', 'force_generic_plan', true)"));
        RETURN_IF_ERROR(generic.Send());
      }
    }
    ASSIGN_OR_RETURN(Statement stmt, tx.Prepare(select));
    BindAll(stmt, binds);
    stmt.Bind(static_cast<int>(binds.size()) + 1, static_cast<int64_t>(limit + 1));
    PracticeCursor cursor;
    int rows = 0;
    while (true) {
      ASSIGN_OR_RETURN(bool more, stmt.Step());
      if (!more) break;
      if (rows == limit) {
        last = cursor;  // there is at least one more row
        break;
      }
      row(stmt);
      ++rows;
      cursor.ods_code = stmt.Text(2);  // the stored key, exactly as the keyset compares it
      if (sql.sort_is_text) {
        cursor.text = stmt.Text(0);
      } else {
        cursor.number = stmt.Int(0);
      }
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<PracticePage> Store::ListPractices(const PracticeQuery& query,
                                                  const std::optional<PracticeCursor>& after,
                                                  int limit) {
  PracticePage page;
  RETURN_IF_ERROR(ListPracticeRows(
      query, after, limit, [&] { page.practices.clear(); },
      [&](const Statement& stmt) { page.practices.push_back(ReadPracticeRow(stmt, 1)); }, page.last,
      page.total_size));
  return page;
}

absl::StatusOr<PracticeBytesPage> Store::ListPracticeBytes(
    const PracticeQuery& query, const std::optional<PracticeCursor>& after, int limit, int field) {
  PracticeBytesPage page;
  RETURN_IF_ERROR(ListPracticeRows(
      query, after, limit,
      [&] {
        page.practices.clear();
        page.size = 0;
      },
      [&](const Statement& stmt) {
        ++page.size;
        const std::string data = stmt.Blob(1);
        const std::string code = stmt.Text(2);
        const int64_t revision = stmt.Int(9);
        if (practice_bytes_.AppendField(code, data, revision, field, &page.practices)) return;
        v1::Practice practice;
        const bool readable = ReadPracticeRow(stmt, 1, data, practice);
        std::string bytes = practice.SerializeAsString();
        wire::AppendBytesField(field, bytes, &page.practices);
        if (readable) practice_bytes_.Keep(code, data, revision, std::move(bytes));
      },
      page.last, page.total_size,
      [&](const std::string& code, int64_t revision) {
        if (!practice_bytes_.AppendKeptField(code, revision, field, &page.practices)) return false;
        ++page.size;
        return true;
      }));
  return page;
}

}  // namespace dorset::registry
