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

const runtime::storage::MultiRowInsert& BumpCountersInsert() {
  static const runtime::storage::MultiRowInsert insert(
      "INSERT INTO response_count (activity_id, dimension, key, n) VALUES ", 4,
      " ON CONFLICT (activity_id, dimension, key) DO UPDATE SET n = response_count.n + "
      "excluded.n",
      {"text", "text", "text", "bigint"});
  return insert;
}

absl::Status ApplySums(runtime::storage::MultiRowStatements& bump, const CounterSums& sums,
                       bool send) {
  std::vector<const CounterSums::value_type*> cells;
  cells.reserve(sums.size());
  for (const auto& cell : sums) {
    if (cell.second != 0) cells.push_back(&cell);
  }
  const auto bind = [&cells](runtime::storage::Statement& s, size_t row, int first) {
    const auto& [key, delta] = *cells[row];
    // `sums` is unchanged until the statement has run (or been sent) and been reset.
    s.BindKept(first, std::get<0>(key))
        .BindKept(first + 1, std::get<1>(key))
        .BindKept(first + 2, std::get<2>(key))
        .Bind(first + 3, delta);
  };
  return send ? bump.Send(cells.size(), bind) : bump.Run(cells.size(), bind);
}

absl::Status AddCounterSums(runtime::storage::Transaction& tx, const CounterSums& sums) {
  runtime::storage::MultiRowStatements bump(BumpCountersInsert(), tx);
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
