// The SQL of a practice query (services/registry/storage): the WHERE clause with its ? values
// and the sort expression of a PracticeQuery, on either engine, with the name filters served by
// the engine's name index or walked (the comment on the name search in practice_query_sql.cc).
// Internal to this folder; the pages of practices (practice_pages.cc) use it, callers store.h.
//
//   using practice_query_sql::BuildQuery;
//   const QuerySql sql = BuildQuery(query, tx.engine());
//   ASSIGN_OR_RETURN(Statement count,
//                    tx.Prepare(absl::StrCat("SELECT COUNT(*) FROM practice WHERE ", sql.where)));
//   BindAll(count, sql.binds);
#ifndef DORSET_SERVICES_REGISTRY_STORAGE_PRACTICE_QUERY_SQL_H_
#define DORSET_SERVICES_REGISTRY_STORAGE_PRACTICE_QUERY_SQL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "runtime/storage/database.h"
#include "services/registry/storage/store.h"

namespace dorset::registry::practice_query_sql {

// The SQL of a practice query: WHERE clause (with ? binds) and the sort expression.
struct QuerySql {
  std::string where;
  std::vector<std::variant<std::string, int64_t>> binds;
  std::string sort;
  bool sort_is_text = true;
};

// Whether the name text is served by the name index (PracticeQuery::Plan::kIndexed and at least
// one trigram); otherwise by the scan.
bool UseNameIndex(const PracticeQuery& q, std::string_view text);

// The query's SQL. `name_index` false: the name filters as a walk's test alone (the walk of
// ListPractices' pages).
QuerySql BuildQuery(const PracticeQuery& q, runtime::storage::Engine engine,
                    bool name_index = true);

// Binds `binds` in order from parameter `first`.
void BindAll(runtime::storage::Statement& stmt,
             const std::vector<std::variant<std::string, int64_t>>& binds, int first = 1);

}  // namespace dorset::registry::practice_query_sql

#endif  // DORSET_SERVICES_REGISTRY_STORAGE_PRACTICE_QUERY_SQL_H_
