// The prepared statements of the response hot path, kept per writer connection so each of the
// many responses a batch writes does not re-parse its SQL.
#ifndef DORSET_SERVICES_ENGAGEMENT_RESPONSE_STATEMENTS_H_
#define DORSET_SERVICES_ENGAGEMENT_RESPONSE_STATEMENTS_H_

#include <memory>

#include "absl/status/statusor.h"
#include "dorset/engagement/v1/engagement.pb.h"
#include "runtime/sqlite/database.h"

namespace dorset::engagement {

inline constexpr char kResponseColumns[] =
    "id, activity_id, stakeholder_id, text, channel, locality, practice, themes, sentiment, "
    "publish_consent, anonymised, create_time, update_time, version";

// The row (columns as kResponseColumns) as a Response.
v1::Response ResponseFromRow(const runtime::sqlite::Statement& row);

class ResponseStatements {
 public:
  static absl::StatusOr<std::unique_ptr<ResponseStatements>> Prepare(runtime::sqlite::Database& db);
  runtime::sqlite::Database& db() { return db_; }

  runtime::sqlite::Statement find_request;    // (method, request_id) -> resource, hash
  runtime::sqlite::Statement record_request;  // (method, request_id, resource, time, hash)
  // (id) -> state, window_start, window_end, allowed_practices
  runtime::sqlite::Statement activity_window;
  runtime::sqlite::Statement theme_exists;       // (activity, theme)
  runtime::sqlite::Statement stakeholder_state;  // (id) -> erased
  runtime::sqlite::Statement insert_response;
  runtime::sqlite::Statement bump_counter;  // kBumpCounterSql
  runtime::sqlite::Statement savepoint;     // one response of a batch
  runtime::sqlite::Statement release;
  runtime::sqlite::Statement rollback_to;

 private:
  ResponseStatements(runtime::sqlite::Database& db, runtime::sqlite::Statement find_request,
                     runtime::sqlite::Statement record_request,
                     runtime::sqlite::Statement activity_window,
                     runtime::sqlite::Statement theme_exists,
                     runtime::sqlite::Statement stakeholder_state,
                     runtime::sqlite::Statement insert_response,
                     runtime::sqlite::Statement bump_counter, runtime::sqlite::Statement savepoint,
                     runtime::sqlite::Statement release, runtime::sqlite::Statement rollback_to)
      : find_request(std::move(find_request)),
        record_request(std::move(record_request)),
        activity_window(std::move(activity_window)),
        theme_exists(std::move(theme_exists)),
        stakeholder_state(std::move(stakeholder_state)),
        insert_response(std::move(insert_response)),
        bump_counter(std::move(bump_counter)),
        savepoint(std::move(savepoint)),
        release(std::move(release)),
        rollback_to(std::move(rollback_to)),
        db_(db) {}
  runtime::sqlite::Database& db_;
};

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_RESPONSE_STATEMENTS_H_
