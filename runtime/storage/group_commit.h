// The storage lane's one group committer (issue 12): handlers queue a job with a completion and
// return at once (the gRPC reactor stays open); one writer thread takes whatever has queued up
// (up to a group) and writes it in ONE write transaction of a runtime::storage::Database — one
// fsync shared by every job in the group — and only after the commit are the jobs completed, in
// order (on a second thread unless the options say otherwise). Nothing is acknowledged before it
// is durable. On the finisher thread a group's jobs are completed inside one CompletionBatch
// (runtime/base), so work their completions defer (the audit records their replies wait for)
// is done once per group on that thread.
//
// The linger (linger_policy.h): when few jobs are queued but groups were larger lately, and recent
// lingers caught jobs, the writer waits up to `linger` (off by default) for more before starting
// the group, so writes that come a little apart share one commit. A sequential client's groups are
// of one, so it never waits; shutdown ends a linger at once.
//
// The rules every service gets alike (docs/storage.md, "Group commit"):
// - Bounded: more than `max_queued` waiting jobs are refused at once with RESOURCE_EXHAUSTED
//   (with RetryInfo); nothing of them was written, so a retry with the same request_id is safe.
// - Shutdown: the destructor refuses new jobs with UNAVAILABLE at once, writes everything
//   already queued, completes every job, then stops both threads.
// - A job refused on its own (results[i] not OK) must leave nothing of itself written; a
//   non-OK return from the group function abandons the whole group (rolled back): every job
//   gets UNAVAILABLE (RESOURCE_EXHAUSTED for a full disk), never a half-write. A serialization
//   failure runs the group function again from the start (Database::Write).
// - Request records (idempotency.h): on SQLite a group's first attempt defers their lookups to
//   Flush; when that attempt fails in the group function after deferring one, the group is
//   rolled back and runs again with a lookup per request (a retry from an earlier group).
//
//   GroupCommitter<Job> committer(db, {.group_size_metric = "x_group_requests", ...},
//       [](Transaction& tx, std::span<Job> jobs, std::vector<absl::Status>& results) {...},
//       [](Job& job, const absl::Status& status) { job.done(status); });
//   committer.Submit(Job{...});
#ifndef DORSET_RUNTIME_STORAGE_GROUP_COMMIT_H_
#define DORSET_RUNTIME_STORAGE_GROUP_COMMIT_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <iterator>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "runtime/base/completion_batch.h"
#include "runtime/base/thread_name.h"
#include "runtime/storage/database.h"
#include "runtime/storage/engine.h"
#include "runtime/storage/linger_policy.h"

namespace prometheus {
class Counter;
class Histogram;
class Registry;
}  // namespace prometheus

namespace dorset::runtime::storage {

struct GroupCommitOptions {
  // Jobs waiting beyond this are refused with RESOURCE_EXHAUSTED.
  size_t max_queued = 65536;
  // Jobs written together in one transaction at most.
  int max_group = 4096;
  // Metrics (no labels); an empty name registers none. `metrics` may be null.
  prometheus::Registry* metrics = nullptr;
  std::string group_size_metric = "";       // histogram: jobs per committed group
  std::string committed_metric = "";        // counter: jobs acknowledged OK after their commit
  std::string commit_failures_metric = "";  // counter: groups whose transaction failed
  // Complete jobs on a second thread so the writer starts the next group at once (engagement
  // and, since session 21, finance measured it faster), or on the writer thread.
  bool finish_on_own_thread = true;
  // Nonzero: every group is written with Database::WriteQueued on this queue, so groups of all
  // the service's replicas that append after one head (finance's ledger) wait their turn on
  // PostgreSQL instead of colliding under SERIALIZABLE and being rolled back.
  int64_t write_queue = 0;
  // Words for refusals and logs, e.g. "the ledger" / "retry with the same request_id".
  std::string what = "the write";
  std::string retry_hint = "retry with the same request_id";
  // The linger (linger_policy.h, docs/storage.md): when few jobs are queued but recent groups
  // were larger, the writer waits up to this long for more before starting the group, as long
  // as recent lingers caught jobs. Zero: never. DORSET_GROUP_LINGER=off (or a duration, "2ms")
  // overrides it for every committer of the process (A/B runs, bench/README.md session 15).
  // Off by default: on a quiet machine a 2 ms linger cost acknowledged writes at 32 in flight
  // ~20 % of their rate (one build, on/off alternating) and showed no gain in the mixed load.
  absl::Duration linger = absl::ZeroDuration();
  std::string lingers_metric = "";        // counter: lingers
  std::string linger_caught_metric = "";  // counter: jobs that arrived during a linger
};

// The part that does not depend on the job type: metrics, refusals, failure mapping.
class GroupCommitBase {
 protected:
  explicit GroupCommitBase(const GroupCommitOptions& options);
  // The refusal for a job that could not be queued.
  absl::Status Refusal(bool full) const;
  // Every job's status when the group's transaction failed: nothing was written.
  absl::Status GroupFailure(const absl::Status& cause) const;
  void Observe(size_t jobs, const absl::Status& committed, int64_t ok_jobs);
  void ObserveLinger(size_t caught);
  // The linger's settings: the options' and DORSET_GROUP_LINGER.
  LingerOptions Linger() const;

  const GroupCommitOptions options_;

 private:
  prometheus::Histogram* group_size_ = nullptr;
  prometheus::Counter* lingers_ = nullptr;
  prometheus::Counter* linger_caught_ = nullptr;
  prometheus::Counter* committed_ = nullptr;
  prometheus::Counter* failures_ = nullptr;
};

template <typename Job>
class GroupCommitter : private GroupCommitBase {
 public:
  // Writes one group inside `tx`: sets results[i] to job i's own outcome (results come in OK).
  // Returning an error abandons the group. Runs again from the start when the transaction is
  // retried, so it must touch only the database, the jobs' outputs and its own locals.
  using WriteGroup = std::function<absl::Status(Transaction& tx, std::span<Job> jobs,
                                                std::vector<absl::Status>& results)>;
  // Completes a job after its group committed (or failed), on the finisher thread.
  using Finish = std::function<void(Job& job, const absl::Status& status)>;
  // Runs once per group whose transaction committed, on the writer thread before any of its jobs
  // is finished: for outputs that hold only once committed (the audit events written in the
  // transaction, runtime/audit/audit_outbox.h). A group that failed never gets it.
  using Committed = std::function<void(std::span<Job> jobs)>;

  GroupCommitter(Database& db, GroupCommitOptions options, WriteGroup write, Finish finish,
                 Committed committed = nullptr)
      : GroupCommitBase(options),
        linger_(Linger()),
        db_(db),
        write_(std::move(write)),
        finish_(std::move(finish)),
        committed_(std::move(committed)) {
    if (options_.finish_on_own_thread) {
      finisher_ = std::thread([this] {
        NameThisThread("group-finish");
        FinishLoop();
      });
    }
    writer_ = std::thread([this] {
      NameThisThread("group-writer");
      WriteLoop();
    });
  }
  ~GroupCommitter() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    writer_.join();
    {
      absl::MutexLock lock(&done_mu_);
      finisher_stopping_ = true;
    }
    if (finisher_.joinable()) finisher_.join();
  }
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  // Queues `job`; it is completed after its group's commit. A refused job (queue full, or
  // shutting down) is completed at once on the calling thread.
  void Submit(Job job) {
    bool full = false;
    {
      absl::MutexLock lock(&mu_);
      full = queue_.size() >= options_.max_queued;
      if (!stopping_ && !full) {
        queue_.push_back(std::move(job));
        return;
      }
    }
    finish_(job, Refusal(full));
  }

  // Groups committed and jobs acknowledged OK so far (tests, logs).
  int64_t groups_committed() const {
    absl::MutexLock lock(&mu_);
    return groups_;
  }
  int64_t jobs_applied() const {
    absl::MutexLock lock(&mu_);
    return applied_;
  }
  // Groups run again with their requests looked up (above, WriteOne) so far (tests).
  int64_t groups_looked_up_again() const {
    absl::MutexLock lock(&mu_);
    return looked_up_again_;
  }
  // Lingers so far and the jobs that arrived during them (tests; the metrics say the same).
  int64_t lingers() const {
    absl::MutexLock lock(&mu_);
    return lingers_;
  }
  int64_t linger_caught() const {
    absl::MutexLock lock(&mu_);
    return linger_caught_;
  }
  // Tests: waits until the writer is lingering (true), or `timeout` passed (false).
  bool AwaitLingering(absl::Duration timeout) const {
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(absl::Condition(&lingering_), timeout);
  }

 private:
  struct Finished {
    std::vector<Job> jobs;
    std::vector<absl::Status> results;
  };

  void WriteLoop() {
    // The group and the queue are two vectors that trade places (issue 16): the writer takes the
    // whole queue by a swap and leaves its last group's emptied buffer for the next jobs, so a
    // group costs no allocation and no move per job (a vector grown anew for every group made
    // ~5 allocations a group of 1 KB and more, each of which made glibc consolidate its fastbins).
    std::vector<Job> group;
    while (true) {
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(this, &GroupCommitter::HasWork));
        if (queue_.empty()) return;  // stopping and drained
        if (!stopping_) LingerForMore();
        const size_t max_group = static_cast<size_t>(std::max(options_.max_group, 1));
        if (queue_.size() <= max_group) {
          group.swap(queue_);
        } else {  // more than a group waits: the first max_group go, in order
          std::vector<Job> rest;
          rest.reserve(queue_.size() - max_group);
          std::move(queue_.begin() + static_cast<std::ptrdiff_t>(max_group), queue_.end(),
                    std::back_inserter(rest));
          queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(max_group), queue_.end());
          group.swap(queue_);
          queue_.swap(rest);
        }
        linger_.Took(group.size());
      }
      WriteOne(group);
      group.clear();
      // A buffer grown by a burst is not kept: beyond this a group's write dwarfs its allocation.
      if (group.capacity() > kKeptJobs) group = std::vector<Job>();
      if (group.capacity() == 0) {  // moved to the finisher: take back buffers it emptied
        absl::MutexLock lock(&done_mu_);
        if (!spare_.empty()) {
          group.swap(spare_.back().jobs);
          results_.swap(spare_.back().results);
          spare_.pop_back();
        }
      }
    }
  }
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || !queue_.empty(); }

  // Waits (bounded) for more jobs when the policy says it pays; returns at once when the queue
  // reaches the policy's target or the committer is stopping (the destructor sets stopping_
  // under mu_, which wakes this wait at once).
  void LingerForMore() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const size_t max_group = static_cast<size_t>(std::max(options_.max_group, 1));
    const LingerPolicy::Decision decision = linger_.Decide(queue_.size(), max_group, absl::Now());
    if (!decision.linger) return;
    const size_t before = queue_.size();
    linger_until_ = decision.until;
    lingering_ = true;
    mu_.AwaitWithTimeout(absl::Condition(this, &GroupCommitter::LingerOver), decision.bound);
    lingering_ = false;
    const size_t caught = std::min(queue_.size(), max_group) - before;
    linger_.Lingered(caught);
    ++lingers_;
    linger_caught_ += static_cast<int64_t>(caught);
    ObserveLinger(caught);
  }
  bool LingerOver() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || queue_.size() >= linger_until_;
  }

  void WriteOne(std::vector<Job>& group) {
    std::vector<absl::Status>& results = results_;  // its buffer kept across groups
    // SQLite: the first attempt defers the request records' lookups (idempotency.h); when the
    // group function fails after it deferred one (a request seen again, or anything else before
    // the commit) the group was rolled back, and it runs again with a lookup per request.
    bool defer = db_.engine() == Engine::kSqlite;
    bool deferred_and_failed = false;
    auto write = [&](Transaction& tx) -> absl::Status {
      results.assign(group.size(), absl::OkStatus());  // a retried transaction starts again
      tx.set_defer_request_lookups(defer);
      absl::Status written = write_(tx, std::span<Job>(group), results);
      deferred_and_failed = !written.ok() && tx.lookup_deferred();
      return written;
    };
    const auto run = [&]() {
      return options_.write_queue != 0 ? db_.WriteQueued(options_.write_queue, write)
                                       : db_.Write(write);
    };
    absl::Status committed = run();
    if (defer && deferred_and_failed) {
      defer = false;
      committed = run();
      absl::MutexLock lock(&mu_);
      ++looked_up_again_;
    }
    int64_t ok_jobs = 0;
    if (!committed.ok()) {
      results.assign(group.size(), GroupFailure(committed));
    } else {
      for (const absl::Status& result : results) ok_jobs += result.ok() ? 1 : 0;
      if (committed_) committed_(std::span<Job>(group));
    }
    Observe(group.size(), committed, ok_jobs);
    {
      absl::MutexLock lock(&mu_);
      if (committed.ok()) ++groups_;
      applied_ += ok_jobs;
    }
    if (!options_.finish_on_own_thread) {
      // No CompletionBatch here: the audit writer thread keeps writing these events while this
      // thread commits the next group (two stages; see FinishLoop).
      for (size_t i = 0; i < group.size(); ++i) finish_(group[i], results[i]);
      return;
    }
    absl::MutexLock lock(&done_mu_);
    finished_.push_back({std::move(group), std::move(results)});
    results.clear();  // moved from: valid, and empty from here
  }

  void FinishLoop() {
    while (true) {
      Finished finished;
      {
        absl::MutexLock lock(&done_mu_);
        done_mu_.Await(absl::Condition(this, &GroupCommitter::HasFinished));
        if (finished_.empty()) return;  // stopping and drained
        finished = std::move(finished_.front());
        finished_.pop_front();
      }
      // The group's completions as one batch: the audit events their replies wait for are
      // written here, by this thread, in one transaction when the batch closes (audit_log.h),
      // instead of waking the audit writer for them (issue 16). While it writes, the writer
      // thread commits the next group: two stages, where there were three threads.
      {
        CompletionBatch batch;
        for (size_t i = 0; i < finished.jobs.size(); ++i) {
          finish_(finished.jobs[i], finished.results[i]);
        }
      }
      // The emptied buffers go back to the writer for a later group (one spare is enough: the
      // writer takes it back at its next group).
      finished.jobs.clear();
      finished.results.clear();
      absl::MutexLock lock(&done_mu_);
      if (spare_.empty()) spare_.push_back(std::move(finished));
    }
  }
  bool HasFinished() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(done_mu_) {
    return finisher_stopping_ || !finished_.empty();
  }

  static constexpr size_t kKeptJobs = 1024;

  LingerPolicy linger_;  // the writer thread's alone
  Database& db_;
  const WriteGroup write_;
  const Finish finish_;
  const Committed committed_;
  mutable absl::Mutex mu_;
  std::vector<Job> queue_ ABSL_GUARDED_BY(mu_);  // trades places with the writer's group
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int64_t groups_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t applied_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t looked_up_again_ ABSL_GUARDED_BY(mu_) = 0;
  size_t linger_until_ ABSL_GUARDED_BY(mu_) = 0;
  bool lingering_ ABSL_GUARDED_BY(mu_) = false;
  int64_t lingers_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t linger_caught_ ABSL_GUARDED_BY(mu_) = 0;
  mutable absl::Mutex done_mu_;
  std::deque<Finished> finished_ ABSL_GUARDED_BY(done_mu_);
  std::vector<Finished> spare_ ABSL_GUARDED_BY(done_mu_);  // emptied buffers for the writer
  std::vector<absl::Status> results_;                      // the writer thread's alone
  bool finisher_stopping_ ABSL_GUARDED_BY(done_mu_) = false;
  std::thread finisher_;  // completes jobs
  std::thread writer_;    // writes groups
};

}  // namespace dorset::runtime::storage

#endif  // DORSET_RUNTIME_STORAGE_GROUP_COMMIT_H_
