// A store's own write transaction with its data version and generations (issue 16,
// data_version.h), written once for every store whose Write takes one (FinanceStore::Write,
// EngagementStore::Write): `fn(Transaction&)` runs in a write transaction (WriteReturning,
// transact.h); when its result is OK the data version is bumped in the same transaction and the
// version it commits recorded as this process's own (OwnCommit). After the commit, or its
// failure (it may have committed), `advance_all` raises every generation of the store, before
// the write is acknowledged; a commit that succeeded is then covered with Advanced::kAll, so the
// DataVersionFollower does not advance again for it.
//
// Only for writes that advance every generation: a group that advances some of them (finance's
// posting committer, engagement's StoreCommitter for responses) covers its commit itself with
// Advanced::kSome, which covers V only when V-1 is covered (OwnCommits).
//
//   template <typename Fn>
//   auto Write(Fn&& fn) {
//     return runtime::storage::WriteAndAdvance(*db_, kDataChannel, &own_commits_,
//                                              [this] { Advance(); }, std::forward<Fn>(fn));
//   }
#ifndef DORSET_RUNTIME_STORAGE_WRITE_AND_ADVANCE_H_
#define DORSET_RUNTIME_STORAGE_WRITE_AND_ADVANCE_H_

#include <cstdint>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "runtime/storage/data_version.h"
#include "runtime/storage/database.h"
#include "runtime/storage/transact.h"

namespace dorset::runtime::storage {

// Runs `fn(Transaction&)` in a write transaction, committed when its result is OK and run again
// from the start on a serialization failure (so `fn` touches only the database and its own
// locals), bumping the data version on `channel` in it (see the file comment); records the
// commit in `own` (null: nothing is recorded) and calls `advance_all` once, after the
// transaction, whatever its outcome. Returns what `fn` returned, the bump's error, or the
// commit's.
template <typename Fn>
auto WriteAndAdvance(Database& db, std::string_view channel, OwnCommits* own,
                     absl::FunctionRef<void()> advance_all, Fn&& fn) {
  OwnCommit commit(own);
  auto out = WriteReturning(db, [&fn, &commit, channel](Transaction& tx) {
    auto result = fn(tx);
    if (internal::StatusOf(result).ok()) {
      absl::StatusOr<uint64_t> bumped = BumpDataVersion(tx, channel);
      if (!bumped.ok()) return decltype(result)(bumped.status());
      commit.Bumped(*bumped);
    }
    return result;
  });
  advance_all();  // after the commit (or its failure: it may have committed), before the reply
  if (internal::StatusOf(out).ok()) commit.Covered(OwnCommits::Advanced::kAll);
  return out;
}

}  // namespace dorset::runtime::storage

#endif  // DORSET_RUNTIME_STORAGE_WRITE_AND_ADVANCE_H_
