#include "services/engagement/storage/response_statements.h"

#include "runtime/status/status_macros.h"
#include "services/engagement/storage/counter_rows.h"

namespace dorset::engagement {

absl::StatusOr<std::unique_ptr<ResponseStatements>> ResponseStatements::Prepare(
    runtime::storage::Transaction& tx) {
  ASSIGN_OR_RETURN(runtime::storage::IdempotencyRecord requests,
                   runtime::storage::IdempotencyRecord::Prepare(tx));
  ASSIGN_OR_RETURN(
      auto activity_window,
      tx.Prepare("SELECT state, window_start, window_end, allowed_practices FROM activity "
                 "WHERE id = ?"));
  ASSIGN_OR_RETURN(auto theme_exists,
                   tx.Prepare("SELECT 1 FROM theme WHERE activity_id = ? AND id = ?"));
  ASSIGN_OR_RETURN(auto stakeholder_state,
                   tx.Prepare("SELECT erased FROM stakeholder WHERE id = ?"));
  ASSIGN_OR_RETURN(auto insert_response,
                   tx.Prepare("INSERT INTO response (activity_id, stakeholder_id, text, channel, "
                              "locality, practice, themes, sentiment, publish_consent, "
                              "create_time, update_time, version) "
                              "VALUES (?,?,?,?,?,?,?,?,?,?,?,1) RETURNING id"));
  ASSIGN_OR_RETURN(auto bump_counter, tx.Prepare(kBumpCounterSql));
  return std::unique_ptr<ResponseStatements>(new ResponseStatements{
      std::move(requests), std::move(activity_window), std::move(theme_exists),
      std::move(stakeholder_state), std::move(insert_response), std::move(bump_counter)});
}

}  // namespace dorset::engagement
