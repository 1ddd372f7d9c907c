#include "services/engagement/storage/retention_rows.h"

#include <algorithm>

#include "runtime/status/status_macros.h"

namespace dorset::engagement {

absl::StatusOr<std::vector<RetentionRow>> StakeholdersInactiveSince(
    runtime::storage::Transaction& tx, int64_t cutoff_micros) {
  // Portable SQL (SQLite and PostgreSQL): the later of the two times is taken here, not in SQL.
  ASSIGN_OR_RETURN(runtime::storage::Statement stmt,
                   tx.Prepare("SELECT s.id, s.update_time, (SELECT MAX(r.create_time) FROM "
                              "response r WHERE r.stakeholder_id = s.id) FROM stakeholder s "
                              "WHERE s.erased = 0 AND s.update_time < ? ORDER BY s.id"));
  stmt.Bind(1, cutoff_micros);
  std::vector<RetentionRow> rows;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return rows;
    const int64_t last = std::max(stmt.Int(1), stmt.OptionalInt(2).value_or(0));
    if (last < cutoff_micros) rows.push_back({stmt.Text(0), last});
  }
}

}  // namespace dorset::engagement
