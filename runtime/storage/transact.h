// Transactions that return a value: the one wrapper every service store uses over
// Database::Write/Read, so a store's function can return absl::Status or absl::StatusOr<T>
// (the value survives a retried transaction: only the last attempt's result is kept).
//
//   absl::StatusOr<int64_t> n = storage::ReadReturning(db, [&](Transaction& tx)
//       -> absl::StatusOr<int64_t> {...});
#ifndef DORSET_RUNTIME_STORAGE_TRANSACT_H_
#define DORSET_RUNTIME_STORAGE_TRANSACT_H_

#include <optional>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/storage/database.h"

namespace dorset::runtime::storage {
namespace internal {

inline const absl::Status& StatusOf(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& result) {
  return result.status();
}

template <typename Fn>
auto RunReturning(Database& db, bool write, Fn&& fn) {
  using Result = std::invoke_result_t<Fn, Transaction&>;
  std::optional<Result> out;
  auto body = [&](Transaction& tx) -> absl::Status {
    out.emplace(fn(tx));
    return StatusOf(*out);
  };
  const absl::Status status = write ? db.Write(body) : db.Read(body);
  if (!status.ok()) return Result(status);
  return std::move(*out);
}

}  // namespace internal

// Runs `fn(Transaction&)` in a write transaction, committed when its result is OK and run again
// from the start on a serialization failure (so `fn` touches only the database and its own
// locals). Returns what `fn` returned, or the commit's error.
template <typename Fn>
auto WriteReturning(Database& db, Fn&& fn) {
  return internal::RunReturning(db, true, std::forward<Fn>(fn));
}

// Runs `fn(Transaction&)` in a read-only transaction (one snapshot); returns what it returned.
template <typename Fn>
auto ReadReturning(Database& db, Fn&& fn) {
  return internal::RunReturning(db, false, std::forward<Fn>(fn));
}

}  // namespace dorset::runtime::storage

#endif  // DORSET_RUNTIME_STORAGE_TRANSACT_H_
