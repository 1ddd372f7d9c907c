// Group commit for postings: handlers enqueue a parsed batch with a completion callback and
// return at once (the gRPC reactor stays open); one writer thread drains the queue, applies
// many requests in ONE write transaction of the store (the ledger checks a request before
// writing any of it, so a refused request fails alone), commits (SQLite: synchronous=FULL;
// PostgreSQL: SERIALIZABLE, run again whole on a serialization failure), and only then runs the
// callbacks. One fsync is shared by every request in the group, and nothing is acknowledged before
// it is on disk.
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
#include "prometheus/counter.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "services/finance/posting_input.h"
#include "services/finance/storage/ledger.h"
#include "services/finance/storage/store.h"

namespace dorset::finance {

class GroupCommitter {
 public:
  // Requests waiting beyond this are refused with RESOURCE_EXHAUSTED.
  static constexpr size_t kMaxQueued = 65536;

  using Done = std::function<void(absl::StatusOr<std::vector<v1::Posting>>)>;

  // Starts the writer thread.
  // `metrics` (optional) receives finance_ledger_group_requests (a histogram of requests per
  // committed group) and finance_ledger_commit_failures_total.
  static absl::StatusOr<std::unique_ptr<GroupCommitter>> Start(
      FinanceStore& store, prometheus::Registry* metrics = nullptr, int max_group = 4096);
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
  mutable absl::Mutex mu_;
  std::deque<Job> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int64_t groups_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t applied_ ABSL_GUARDED_BY(mu_) = 0;
  prometheus::Histogram* group_size_ = nullptr;
  prometheus::Counter* commit_failures_ = nullptr;
  std::thread thread_;
};

}  // namespace dorset::finance

#endif  // DORSET_SERVICES_FINANCE_GROUP_COMMIT_H_
