// Group commit for postings: handlers enqueue a parsed batch with a completion callback and
// return at once (the gRPC reactor stays open); one writer thread drains the queue, applies
// many requests in ONE SQLite transaction (each request inside its own savepoint, so a bad
// request fails alone), commits with synchronous=FULL, and only then runs the callbacks. One
// fsync is shared by every request in the group, and nothing is acknowledged before it is on
// disk.
#ifndef DORSET_SERVICES_FINANCE_GROUP_COMMIT_H_
#define DORSET_SERVICES_FINANCE_GROUP_COMMIT_H_

#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "dorset/finance/v1/finance.pb.h"
#include "services/finance/ledger.h"
#include "services/finance/posting_input.h"
#include "services/finance/store.h"

namespace dorset::finance {

class GroupCommitter {
 public:
  using Done = std::function<void(absl::StatusOr<std::vector<v1::Posting>>)>;

  // Prepares the ledger's statements on the writer connection and starts the writer thread.
  static absl::StatusOr<std::unique_ptr<GroupCommitter>> Start(FinanceStore& store,
                                                               int max_group = 4096);
  // Finishes what is queued, then stops the thread.
  ~GroupCommitter();

  // Queues `batch`; `done` runs on the writer thread after the group's commit (or failure).
  // After shutdown began, `done` runs at once with UNAVAILABLE.
  void Enqueue(PostingBatch batch, Done done);

  // Groups committed and requests applied so far (for tests and logs).
  int64_t groups_committed() const;
  int64_t requests_applied() const;

 private:
  struct Job {
    PostingBatch batch;
    Done done;
  };
  GroupCommitter(FinanceStore& store, int max_group) : store_(store), max_group_(max_group) {}
  void Run();
  void CommitGroup(std::vector<Job>& jobs);

  FinanceStore& store_;
  const int max_group_;
  std::unique_ptr<LedgerWriter> ledger_;  // used only on the writer thread, under the write lock
  mutable absl::Mutex mu_;
  std::deque<Job> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int64_t groups_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t applied_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace dorset::finance

#endif  // DORSET_SERVICES_FINANCE_GROUP_COMMIT_H_
