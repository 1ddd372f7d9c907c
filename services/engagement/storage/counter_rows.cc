#include "services/engagement/storage/counter_rows.h"

#include "runtime/status/status_macros.h"

namespace dorset::engagement {

absl::Status BumpCounters(runtime::storage::Statement& bump, const std::string& activity,
                          const std::vector<CounterCell>& cells, int64_t delta) {
  for (const auto& [dimension, key] : cells) {
    bump.Reset();
    bump.Bind(1, activity).Bind(2, dimension).Bind(3, key).Bind(4, delta);
    RETURN_IF_ERROR(bump.Run());
  }
  return absl::OkStatus();
}

absl::Status AddToCounters(runtime::storage::Transaction& tx, const std::string& activity,
                           const std::vector<CounterCell>& cells, int64_t delta) {
  ASSIGN_OR_RETURN(runtime::storage::Statement bump, tx.Prepare(kBumpCounterSql));
  return BumpCounters(bump, activity, cells, delta);
}

absl::Status ApplySums(runtime::storage::Statement& bump, const CounterSums& sums) {
  for (const auto& [cell, delta] : sums) {
    if (delta == 0) continue;
    bump.Reset();
    bump.Bind(1, std::get<0>(cell)).Bind(2, std::get<1>(cell)).Bind(3, std::get<2>(cell));
    bump.Bind(4, delta);
    RETURN_IF_ERROR(bump.Run());
  }
  bump.Reset();
  return absl::OkStatus();
}

absl::Status AddCounterSums(runtime::storage::Transaction& tx, const CounterSums& sums) {
  ASSIGN_OR_RETURN(runtime::storage::Statement bump, tx.Prepare(kBumpCounterSql));
  return ApplySums(bump, sums);
}

absl::StatusOr<CounterTable> ReadCounterCells(runtime::storage::Transaction& tx,
                                              const std::string& activity) {
  ASSIGN_OR_RETURN(
      runtime::storage::Statement stmt,
      tx.Prepare("SELECT dimension, key, n FROM response_count WHERE activity_id = ?"));
  stmt.Bind(1, activity);
  CounterTable cells;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    const std::string dimension = stmt.Text(0);
    const int64_t n = stmt.Int(2);
    if (dimension == kDimTotal) {
      cells.total = n;
    } else if (n != 0) {
      cells.by[dimension][stmt.Text(1)] = n;
    }
  }
  return cells;
}

}  // namespace dorset::engagement
