// The storage lane's one group committer (runtime/storage/group_commit.h: bounded queue, one
// shutdown rule, nothing acknowledged before its commit) on the engagement store, with each
// group's transaction handed to the service's group function as a StoreTx (store.h), so the
// code above storage/ never sees the lane's Transaction or Database. Every group's transaction
// bumps the store's data version, and every job's finish follows the store's generation raised
// (store.h), as EngagementStore::Write does.
//
//   StoreCommitter<Job> committer(store, {.max_group = 512, ...},
//       [](StoreTx& tx, std::span<Job> jobs, std::vector<absl::Status>& results) {...},
//       [](Job& job, const absl::Status& status) { job.done(status); });
#ifndef DORSET_SERVICES_ENGAGEMENT_STORAGE_STORE_COMMITTER_H_
#define DORSET_SERVICES_ENGAGEMENT_STORAGE_STORE_COMMITTER_H_

#include <functional>
#include <span>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/group_commit.h"
#include "services/engagement/storage/store.h"

namespace dorset::engagement {

template <typename Job>
class StoreCommitter {
 public:
  // Group size, queue bound, metric names, completion thread, words for refusals.
  using Options = runtime::storage::GroupCommitOptions;
  // Writes one group inside `tx` (runtime::storage::GroupCommitter::WriteGroup's rules).
  using WriteGroup = std::function<absl::Status(StoreTx& tx, std::span<Job> jobs,
                                                std::vector<absl::Status>& results)>;
  using Finish = std::function<void(Job& job, const absl::Status& status)>;
  // After a group's commit, before its jobs finish (GroupCommitter's Committed).
  using Committed = typename runtime::storage::GroupCommitter<Job>::Committed;

  // What a group may change: kAnything raises both of the store's generations after it, kResponses
  // only generation() (a group of CreateResponse, which never changes an activity: store.h).
  enum class Changes { kAnything, kResponses };
  // Runs in the group's transaction after the data version was bumped (e.g. to read it).
  using Stamped = std::function<absl::Status(StoreTx& tx)>;

  StoreCommitter(EngagementStore& store, Options options, WriteGroup write, Finish finish,
                 Committed committed = nullptr, Changes changes = Changes::kAnything,
                 Stamped stamped = nullptr)
      : committer_(
            store.database(), std::move(options),
            [write = std::move(write), stamped = std::move(stamped)](
                runtime::storage::Transaction& tx, std::span<Job> jobs,
                std::vector<absl::Status>& results) -> absl::Status {
              StoreTx store_tx(tx);
              RETURN_IF_ERROR(write(store_tx, jobs, results));
              // In the same commit, so no reply kept for the older data is served after this.
              RETURN_IF_ERROR(EngagementStore::BumpDataVersion(tx));
              return stamped ? stamped(store_tx) : absl::OkStatus();
            },
            [&store, changes, finish = std::move(finish)](Job& job, const absl::Status& status) {
              // Committed (or maybe): no reply kept before it is served after. A refused or
              // failed job of a group of responses raises both: what failed may be in the store
              // without having come through the group's Committed.
              if (changes == Changes::kResponses && status.ok()) {
                store.AdvanceAfterResponses();
              } else {
                store.Advance();
              }
              finish(job, status);
            },
            std::move(committed)) {}

  void Submit(Job job) { committer_.Submit(std::move(job)); }

 private:
  runtime::storage::GroupCommitter<Job> committer_;
};

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_STORAGE_STORE_COMMITTER_H_
