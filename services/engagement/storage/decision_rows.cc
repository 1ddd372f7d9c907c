#include "services/engagement/storage/decision_rows.h"

#include "runtime/status/status_macros.h"

namespace dorset::engagement {

absl::StatusOr<std::vector<std::string>> PublishedDecisionIds(runtime::storage::Transaction& tx,
                                                              const std::string& activity,
                                                              int limit) {
  ASSIGN_OR_RETURN(runtime::storage::Statement stmt,
                   tx.Prepare("SELECT id FROM decision WHERE activity_id = ? AND published = 1 "
                              "ORDER BY id LIMIT ?"));
  stmt.Bind(1, activity).Bind(2, limit);
  std::vector<std::string> ids;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return ids;
    ids.push_back(stmt.Text(0));
  }
}

}  // namespace dorset::engagement
