// The storage lane's one group committer (runtime/storage/group_commit.h: bounded queue, one
// shutdown rule, nothing acknowledged before its commit) on the engagement store, with each
// group's transaction handed to the service's group function as a StoreTx (store.h), so the
// code above storage/ never sees the lane's Transaction or Database. Every group's transaction
// bumps the store's data version, and the store's generation is raised once after each group's
// commit, before any of its jobs finishes (store.h), as EngagementStore::Write does; the commit
// is then covered in the store's OwnCommits, so the follower does not advance for it again.
//
//   StoreCommitter<Job> committer(store, {.max_group = 512, ...},
//       [](StoreTx& tx, std::span<Job> jobs, std::vector<absl::Status>& results) {...},
//       [](Job& job, const absl::Status& status) { job.done(status); });
#ifndef DORSET_SERVICES_ENGAGEMENT_STORAGE_STORE_COMMITTER_H_
#define DORSET_SERVICES_ENGAGEMENT_STORAGE_STORE_COMMITTER_H_

#include <cstdint>
#include <functional>
#include <optional>
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
  // Runs in the group's transaction after the data version was bumped to `version` (the
  // version the group commits).
  using Stamped = std::function<absl::Status(StoreTx& tx, uint64_t version)>;

  StoreCommitter(EngagementStore& store, Options options, WriteGroup write, Finish finish,
                 Committed committed = nullptr, Changes changes = Changes::kAnything,
                 Stamped stamped = nullptr)
      : commit_(&store.own_commits()),
        committer_(
            store.database(), std::move(options),
            [this, write = std::move(write), stamped = std::move(stamped)](
                runtime::storage::Transaction& tx, std::span<Job> jobs,
                std::vector<absl::Status>& results) -> absl::Status {
              // An earlier run of this transaction, or a group that failed, did not commit.
              commit_.Withdraw();
              StoreTx store_tx(tx);
              RETURN_IF_ERROR(write(store_tx, jobs, results));
              // In the same commit, so no reply kept for the older data is served after this.
              // A group that read the version at its start sends the bump with its commit.
              const std::optional<uint64_t> read = store_tx.start_version();
              ASSIGN_OR_RETURN(const uint64_t version,
                               read.has_value() ? EngagementStore::SendDataVersionBump(tx, *read)
                                                : EngagementStore::BumpDataVersion(tx));
              commit_.Bumped(version);
              return stamped ? stamped(store_tx, version) : absl::OkStatus();
            },
            [&store, finish = std::move(finish)](Job& job, const absl::Status& status) {
              // A failed group (it may have committed) or a refused job: no reply kept before it
              // is served after. Both generations: what failed may be in the store without
              // having come through the group's Committed.
              if (!status.ok()) store.Advance();
              finish(job, status);
            },
            [this, &store, changes, committed = std::move(committed)](std::span<Job> jobs) {
              if (committed) committed(jobs);
              // Committed: no reply kept before it is served after this, raised once for the
              // group. A group of responses leaves the activities' generation, so it covers its
              // version only when nothing of another writer came before it (OwnCommits).
              if (changes == Changes::kResponses) {
                store.AdvanceAfterResponses();
                commit_.Covered(runtime::storage::OwnCommits::Advanced::kSome);
              } else {
                store.Advance();
                commit_.Covered(runtime::storage::OwnCommits::Advanced::kAll);
              }
            }) {}

  // By reference: a job is moved once into the committer's queue, not once more per layer.
  void Submit(Job&& job) { committer_.Submit(std::move(job)); }

 private:
  // The group's commit in the store's OwnCommits: the writer thread's alone (WriteGroup and
  // Committed run on it). Before committer_, so it outlives the writer thread.
  runtime::storage::OwnCommit commit_;
  runtime::storage::GroupCommitter<Job> committer_;
};

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_STORAGE_STORE_COMMITTER_H_
