// The SQL of the per-activity counters (services/engagement/counters.h says which cells a response
// touches): the upsert every cell goes through, the same on both engines.
#ifndef DORSET_SERVICES_ENGAGEMENT_STORAGE_COUNTER_WRITES_H_
#define DORSET_SERVICES_ENGAGEMENT_STORAGE_COUNTER_WRITES_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "runtime/storage/statement.h"
#include "services/engagement/counters.h"

namespace dorset::engagement {

// The upsert every cell goes through: bind (activity, dimension, key, delta). The old value is
// named with its table: PostgreSQL refuses a bare `n` there as ambiguous (SQLite accepts both).
inline constexpr char kBumpCounterSql[] =
    "INSERT INTO response_count (activity_id, dimension, key, n) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (activity_id, dimension, key) DO UPDATE SET n = response_count.n + excluded.n";

// Writes every non-zero delta of `sums` with the prepared kBumpCounterSql statement.
absl::Status ApplySums(runtime::storage::Statement& bump, const CounterSums& sums);

// Adds `delta` to each cell with the prepared kBumpCounterSql statement.
absl::Status BumpCounters(runtime::storage::Statement& bump, const std::string& activity,
                          const std::vector<CounterCell>& cells, int64_t delta);

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_STORAGE_COUNTER_WRITES_H_
