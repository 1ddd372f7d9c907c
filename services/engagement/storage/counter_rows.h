// The SQL of the per-activity counters (services/engagement/domain/counters.h says which cells a
// response touches): the upsert every cell goes through, the same on both engines, and the read of
// an activity's cells behind the aggregates.
#ifndef DORSET_SERVICES_ENGAGEMENT_STORAGE_COUNTER_WRITES_H_
#define DORSET_SERVICES_ENGAGEMENT_STORAGE_COUNTER_WRITES_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/storage/database.h"
#include "runtime/storage/multi_row.h"
#include "runtime/storage/statement.h"
#include "services/engagement/domain/counters.h"

namespace dorset::engagement {

// The upsert every cell goes through: bind (activity, dimension, key, delta). The old value is
// named with its table: PostgreSQL refuses a bare `n` there as ambiguous (SQLite accepts both).
inline constexpr char kBumpCounterSql[] =
    "INSERT INTO response_count (activity_id, dimension, key, n) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (activity_id, dimension, key) DO UPDATE SET n = response_count.n + excluded.n";

// kBumpCounterSql for many cells per statement (issue 16: a group's cells, one upsert statement
// each, cost ~20k instructions a response): a MultiRowInsert of (activity_id, dimension, key, n).
const runtime::storage::MultiRowInsert& BumpCountersInsert();
// Writes every non-zero delta of `sums` with a few multi-row upserts (the keys of `sums` are
// unique, so no statement touches a cell twice). With `send`, on PostgreSQL the upsert is sent
// without waiting (MultiRowStatements::Send): the transaction's next statement or commit
// returns its failure.
absl::Status ApplySums(runtime::storage::MultiRowStatements& bump, const CounterSums& sums,
                       bool send = false);

// Adds `delta` to each cell with the prepared kBumpCounterSql statement.
absl::Status BumpCounters(runtime::storage::Statement& bump, const std::string& activity,
                          const std::vector<CounterCell>& cells, int64_t delta);

// Writes every non-zero delta of `sums` (outside the group commit, e.g. a bulk theme coding's
// summed cells), by multi-row upserts as ApplySums.
absl::Status AddCounterSums(runtime::storage::Transaction& tx, const CounterSums& sums);

// Adds `delta` to each cell (outside the group commit: one statement prepared for the call).
absl::Status AddToCounters(runtime::storage::Transaction& tx, const std::string& activity,
                           const std::vector<CounterCell>& cells, int64_t delta);

// An activity's counter cells: the total, and dimension -> key -> count for the non-zero cells
// (ordered, so output order is stable).
struct CounterTable {
  int64_t total = 0;
  std::map<std::string, std::map<std::string, int64_t>> by;
};
absl::StatusOr<CounterTable> ReadCounterCells(runtime::storage::Transaction& tx,
                                              const std::string& activity);

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_STORAGE_COUNTER_WRITES_H_
