#include "services/engagement/engagement.h"

#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/logging/log.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "services/engagement/counters.h"
#include "services/engagement/names.h"
#include "services/engagement/rows.h"
#include "services/engagement/storage/counter_rows.h"
#include "services/engagement/storage/response_statements.h"

namespace dorset::engagement {

using runtime::storage::Statement;
using runtime::storage::Transaction;

Engagement::Engagement(EngagementStore& store, RegistryLookup* registry,
                       runtime::PageTokenCodec page_tokens, EngagementOptions options)
    : store_(store),
      registry_(registry),
      page_tokens_(std::move(page_tokens)),
      options_(std::move(options)) {}

Engagement::~Engagement() = default;

absl::Status Engagement::BulkLoadResponses(const std::string& activity,
                                           const std::vector<v1::Response>& responses) {
  constexpr size_t kBatch = 20000;
  const int64_t now = ToMicros(Now());
  for (size_t begin = 0; begin < responses.size(); begin += kBatch) {
    const size_t end = std::min(responses.size(), begin + kBatch);
    RETURN_IF_ERROR(store_.Write([&](Transaction& tx) -> absl::Status {
      ASSIGN_OR_RETURN(Statement exists, tx.Prepare("SELECT 1 FROM activity WHERE id = ?"));
      exists.Bind(1, activity);
      ASSIGN_OR_RETURN(bool found, exists.Step());
      if (!found) return runtime::NotFound("Activity", ActivityName(activity));
      ASSIGN_OR_RETURN(
          Statement insert,
          tx.Prepare("INSERT INTO response (activity_id, stakeholder_id, text, channel, "
                     "locality, practice, themes, sentiment, publish_consent, "
                     "create_time, update_time, version) "
                     "VALUES (?,NULL,?,?,?,?,?,?,?,?,?,1)"));
      // Counters summed in memory per batch, then written once per cell.
      std::map<CounterCell, int64_t> sums;
      for (size_t i = begin; i < end; ++i) {
        const v1::Response& r = responses[i];
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
    }));
  }
  runtime::log::Info("synthetic responses bulk-loaded",
                     {{"activity", ActivityName(activity)},
                      {"responses", static_cast<int64_t>(responses.size())}});
  return absl::OkStatus();
}

}  // namespace dorset::engagement
