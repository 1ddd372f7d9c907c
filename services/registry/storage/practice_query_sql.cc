// The SQL of a practice query (practice_query_sql.h): the WHERE clause, its values and the sort
// of a PracticeQuery, on either engine.
#include "services/registry/storage/practice_query_sql.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace dorset::registry::practice_query_sql {

using runtime::storage::Engine;
using runtime::storage::Statement;

namespace {

// ---- Name search ----
//
// name_contains and name_prefix keep their meaning from before the index: ASCII
// case-insensitive `LOWER(display_name) LIKE '%text%'` (or 'text%'), on both engines. What
// changes is how the rows are found (issue 16):
// - SQLite: the FTS5 trigram index practice_search (migrations 7 and 8, kept by triggers on
//   practice in the writer's transaction) holds LOWER(display_name) and matches
//   case-sensitively, so the text, ASCII-lowered, as one phrase of trigrams matches exactly the
//   names LIKE matches (both read UTF-8 characters; stored names are valid UTF-8, "Text and
//   encodings" in docs/registry.md). name_contains is served by it alone, without reading the
//   practices' names again (that read was most of the cost of a common word); name_prefix by
//   it and the LIKE on the rows it finds.
// - PostgreSQL: the pg_trgm GIN index practice_by_name_trigram (migrations 3, 4) is on exactly
//   LOWER(display_name), so the planner serves the same LIKE from it and rechecks every row.
// Order, keyset paging and total_size come from the same WHERE clause, hence are unchanged.
// A text of fewer than three characters has no trigram to look up: it is served by the scan
// (on PostgreSQL by keeping the planner off the index, where a GIN scan without trigrams
// would read the whole index). PracticeQuery::Plan::kScan asks for the scan always (tests).
constexpr size_t kTrigram = 3;

size_t CodePoints(std::string_view text) {
  size_t n = 0;
  for (char c : text) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

void AddNameFilter(const PracticeQuery& q, Engine engine, std::string_view text, bool prefix,
                   bool name_index, std::vector<std::string>& conditions,
                   std::vector<std::variant<std::string, int64_t>>& binds) {
  const bool indexed = name_index && UseNameIndex(q, text);
  std::string lowered;  // ASCII only, as SQLite's LOWER and LIKE fold
  for (char c : text) lowered.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
  if (engine == Engine::kSqlite && indexed) {
    // One FTS5 phrase: the text quoted, its double quotes doubled. The index holds
    // LOWER(display_name), matched case-sensitively: exactly the names containing the text.
    std::string phrase = "\"";
    for (char c : lowered) {
      if (c == '"') phrase.push_back('"');
      phrase.push_back(c);
    }
    phrase.push_back('"');
    conditions.push_back(
        "ods_code IN (SELECT r.ods_code FROM practice_search s JOIN practice_search_row r "
        "ON r.id = s.rowid WHERE practice_search MATCH ?)");
    binds.emplace_back(std::move(phrase));
    if (!prefix) return;  // a prefix is also contained: the LIKE below keeps the starts only
  }
  if (engine == Engine::kSqlite && !prefix && q.plan == PracticeQuery::Plan::kIndexed &&
      text.find('\0') == std::string_view::npos) {
    // The walk's test of each row (ListPracticeRows): the same rows as the LIKE below, whose
    // folding is ASCII only, as LOWER's, so on the lowered name and the lowered text it is a
    // plain substring test. SQLite prepares a statement again whenever a LIKE's pattern is
    // bound anew (for the LIKE optimisation), which was 12 % of a common word's page (issue 16);
    // and `instr(LOWER(display_name), ?)` copied the name twice per row walked, so the test is
    // the registry's own function (name_function.h), which reads the name in place.
    conditions.push_back("dorset_name_contains(display_name, ?) = 1");
    binds.emplace_back(std::move(lowered));
    return;
  }
  if (engine == Engine::kPostgres && !prefix && !name_index &&
      q.plan == PracticeQuery::Plan::kIndexed && text.find('\0') == std::string_view::npos) {
    // The walk's test on PostgreSQL (a common word's page in code order, ListPracticeRows): the
    // LIKE's rows (a '%text%' pattern matches exactly the names containing the text), in a form
    // the planner cannot serve from the trigram index, so that the statement's generic plan,
    // which ListPracticeRows asks for, is the walk of the primary key whatever the text.
    conditions.push_back("strpos(LOWER(display_name), ?) > 0");
    binds.emplace_back(std::move(lowered));
    return;
  }
  // Case-insensitive (ASCII) on both engines: SQLite's LIKE is, PostgreSQL's is not.
  std::string pattern = prefix ? "" : "%";
  for (char c : lowered) {
    if (c == '%' || c == '_' || c == '\\') pattern.push_back('\\');
    pattern.push_back(c);
  }
  pattern.push_back('%');
  // `|| ''` leaves the value as it is but is not the indexed expression (collation "C" is kept).
  conditions.push_back(engine == Engine::kPostgres && !indexed
                           ? "LOWER(display_name || '') LIKE ? ESCAPE '\\'"
                           : "LOWER(display_name) LIKE ? ESCAPE '\\'");
  binds.emplace_back(std::move(pattern));
}

}  // namespace

bool UseNameIndex(const PracticeQuery& q, std::string_view text) {
  return q.plan == PracticeQuery::Plan::kIndexed && CodePoints(text) >= kTrigram &&
         text.find('\0') == std::string_view::npos;
}

// `name_index` false: the name filters as LIKE alone (the walk of ListPractices' pages).
QuerySql BuildQuery(const PracticeQuery& q, Engine engine, bool name_index) {
  QuerySql sql;
  std::vector<std::string> conditions;
  if (!q.locality_id.empty()) {
    conditions.push_back("locality_id = ?");
    sql.binds.emplace_back(q.locality_id);
  }
  if (!q.cluster_id.empty()) {
    conditions.push_back("locality_id IN (SELECT id FROM locality WHERE cluster_id = ?)");
    sql.binds.emplace_back(q.cluster_id);
  }
  if (!q.statuses.empty()) {
    std::vector<std::string> marks(q.statuses.size(), "?");
    conditions.push_back(absl::StrCat("status IN (", absl::StrJoin(marks, ","), ")"));
    for (int s : q.statuses) sql.binds.emplace_back(static_cast<int64_t>(s));
  }
  if (!q.name_contains.empty()) {
    AddNameFilter(q, engine, q.name_contains, /*prefix=*/false, name_index, conditions, sql.binds);
  }
  if (!q.name_prefix.empty()) {
    AddNameFilter(q, engine, q.name_prefix, /*prefix=*/true, name_index, conditions, sql.binds);
  }
  if (q.update_micros_since.has_value()) {
    conditions.push_back("update_time >= ?");
    sql.binds.emplace_back(*q.update_micros_since);
  }
  if (q.update_micros_before.has_value()) {
    conditions.push_back("update_time < ?");
    sql.binds.emplace_back(*q.update_micros_before);
  }
  if (!q.postcode_prefix_key.empty()) {
    // A range on the index practice_by_postcode instead of LIKE (which would not use it);
    // kScan compares a copy of the value instead, which no index serves (tests).
    conditions.push_back(q.plan == PracticeQuery::Plan::kScan
                             ? "(postcode_key || '') >= ? AND (postcode_key || '') < ?"
                             : "postcode_key >= ? AND postcode_key < ?");
    sql.binds.emplace_back(q.postcode_prefix_key);
    sql.binds.emplace_back(q.postcode_prefix_key + "\x7f");
  }
  if (q.prescribing_setting.has_value()) {
    conditions.push_back("prescribing_setting = ?");
    sql.binds.emplace_back(static_cast<int64_t>(*q.prescribing_setting));
  }
  if (!q.commissioner.empty()) {
    conditions.push_back("commissioner = ?");
    sql.binds.emplace_back(q.commissioner);
  }
  sql.where = conditions.empty() ? "1 = 1" : absl::StrJoin(conditions, " AND ");
  switch (q.order) {
    case PracticeQuery::Order::kOdsCode:
      sql.sort = "ods_code";
      break;
    case PracticeQuery::Order::kDisplayName:
      sql.sort = "display_name";
      break;
    case PracticeQuery::Order::kPostcode:
      sql.sort = "postcode_key";
      break;
    case PracticeQuery::Order::kUpdateTime:
      sql.sort = "update_time";
      sql.sort_is_text = false;
      break;
    case PracticeQuery::Order::kListSize:
      sql.sort = "COALESCE(list_size, -1)";
      sql.sort_is_text = false;
      break;
  }
  return sql;
}

void BindAll(Statement& stmt, const std::vector<std::variant<std::string, int64_t>>& binds,
             int first) {
  int i = first;
  for (const auto& b : binds) {
    if (std::holds_alternative<std::string>(b)) {
      stmt.Bind(i++, std::get<std::string>(b));
    } else {
      stmt.Bind(i++, std::get<int64_t>(b));
    }
  }
}

}  // namespace dorset::registry::practice_query_sql
