#include "services/engagement/storage/bulk_load.h"

#include <map>
#include <vector>

#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "services/engagement/domain/counters.h"
#include "services/engagement/domain/names.h"
#include "services/engagement/domain/rows.h"
#include "services/engagement/storage/counter_rows.h"

namespace dorset::engagement {

using runtime::storage::Statement;

absl::Status WriteBulkResponses(runtime::storage::Transaction& tx, const std::string& activity,
                                std::span<const v1::Response> responses, int64_t now) {
  ASSIGN_OR_RETURN(Statement exists, tx.Prepare("SELECT 1 FROM activity WHERE id = ?"));
  exists.Bind(1, activity);
  ASSIGN_OR_RETURN(bool found, exists.Step());
  if (!found) return runtime::NotFound("Activity", ActivityName(activity));
  ASSIGN_OR_RETURN(Statement insert,
                   tx.Prepare("INSERT INTO response (activity_id, stakeholder_id, text, channel, "
                              "locality, practice, themes, sentiment, publish_consent, "
                              "create_time, update_time, version) "
                              "VALUES (?,NULL,?,?,?,?,?,?,?,?,?,1)"));
  // Counters summed in memory per batch, then written once per cell.
  std::map<CounterCell, int64_t> sums;
  for (const v1::Response& r : responses) {
    std::vector<std::string> theme_ids;
    for (const std::string& t : r.themes()) theme_ids.push_back(t.substr(t.rfind('/') + 1));
    insert.Reset();
    insert.Bind(1, activity)
        .Bind(2, r.text())
        .Bind(3, static_cast<int64_t>(r.channel()))
        .Bind(4, r.locality())
        .Bind(5, r.practice())
        .Bind(6, JoinList(theme_ids))
        .Bind(7, static_cast<int64_t>(r.sentiment()))
        .Bind(8, static_cast<int64_t>(r.publish_consent()))
        .Bind(9, now)
        .Bind(10, now);
    RETURN_IF_ERROR(insert.Run());
    for (auto& cell : CounterCells(r.channel(), r.sentiment(), r.locality(), theme_ids)) {
      sums[cell] += 1;
    }
  }
  ASSIGN_OR_RETURN(Statement bump, tx.Prepare(kBumpCounterSql));
  for (const auto& [cell, n] : sums) {
    RETURN_IF_ERROR(BumpCounters(bump, activity, {cell}, n));
  }
  return absl::OkStatus();
}

}  // namespace dorset::engagement
