// The prepared statements of the response hot path, prepared once per group-commit transaction so
// each of the many responses a group writes does not re-parse its SQL.
#ifndef DORSET_SERVICES_ENGAGEMENT_STORAGE_RESPONSE_STATEMENTS_H_
#define DORSET_SERVICES_ENGAGEMENT_STORAGE_RESPONSE_STATEMENTS_H_

#include <memory>

#include "absl/status/statusor.h"
#include "dorset/engagement/v1/engagement.pb.h"
#include "runtime/storage/database.h"
#include "runtime/storage/idempotency.h"

namespace dorset::engagement {

inline constexpr char kResponseColumns[] =
    "id, activity_id, stakeholder_id, text, channel, locality, practice, themes, sentiment, "
    "publish_consent, anonymised, create_time, update_time, version";

// The row (columns as kResponseColumns) as a Response.
v1::Response ResponseFromRow(const runtime::storage::Statement& row);

struct ResponseStatements {
  static absl::StatusOr<std::unique_ptr<ResponseStatements>> Prepare(
      runtime::storage::Transaction& tx);

  runtime::storage::IdempotencyRecord requests;
  // (id) -> state, window_start, window_end, allowed_practices
  runtime::storage::Statement activity_window;
  runtime::storage::Statement theme_exists;       // (activity, theme)
  runtime::storage::Statement stakeholder_state;  // (id) -> erased
  runtime::storage::Statement insert_response;    // ... RETURNING id
  runtime::storage::Statement bump_counter;       // kBumpCounterSql
};

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_STORAGE_RESPONSE_STATEMENTS_H_
