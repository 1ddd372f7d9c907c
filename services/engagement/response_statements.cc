#include "services/engagement/response_statements.h"

#include "runtime/status/status_macros.h"
#include "services/engagement/counters.h"

namespace dorset::engagement {

absl::StatusOr<std::unique_ptr<ResponseStatements>> ResponseStatements::Prepare(
    runtime::sqlite::Database& db) {
  ASSIGN_OR_RETURN(auto find_request, db.Prepare("SELECT resource, request_hash FROM request_log "
                                                 "WHERE method = ? AND request_id = ?"));
  ASSIGN_OR_RETURN(auto record_request,
                   db.Prepare("INSERT INTO request_log (method, request_id, resource, create_time, "
                              "request_hash) VALUES (?, ?, ?, ?, ?)"));
  ASSIGN_OR_RETURN(
      auto activity_window,
      db.Prepare("SELECT state, window_start, window_end, allowed_practices FROM activity "
                 "WHERE id = ?"));
  ASSIGN_OR_RETURN(auto theme_exists,
                   db.Prepare("SELECT 1 FROM theme WHERE activity_id = ? AND id = ?"));
  ASSIGN_OR_RETURN(auto stakeholder_state,
                   db.Prepare("SELECT erased FROM stakeholder WHERE id = ?"));
  ASSIGN_OR_RETURN(auto insert_response,
                   db.Prepare("INSERT INTO response (activity_id, stakeholder_id, text, channel, "
                              "locality, practice, themes, sentiment, publish_consent, "
                              "create_time, update_time, version) "
                              "VALUES (?,?,?,?,?,?,?,?,?,?,?,1)"));
  ASSIGN_OR_RETURN(auto bump_counter, db.Prepare(kBumpCounterSql));
  ASSIGN_OR_RETURN(auto savepoint, db.Prepare("SAVEPOINT response"));
  ASSIGN_OR_RETURN(auto release, db.Prepare("RELEASE response"));
  ASSIGN_OR_RETURN(auto rollback_to, db.Prepare("ROLLBACK TO response"));
  return std::unique_ptr<ResponseStatements>(new ResponseStatements(
      db, std::move(find_request), std::move(record_request), std::move(activity_window),
      std::move(theme_exists), std::move(stakeholder_state), std::move(insert_response),
      std::move(bump_counter), std::move(savepoint), std::move(release), std::move(rollback_to)));
}

}  // namespace dorset::engagement
