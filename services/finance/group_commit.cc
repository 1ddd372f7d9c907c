#include "services/finance/group_commit.h"

#include "runtime/logging/log.h"
#include "runtime/sqlite/database.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"

namespace dorset::finance {

absl::StatusOr<std::unique_ptr<GroupCommitter>> GroupCommitter::Start(FinanceStore& store,
                                                                      prometheus::Registry* metrics,
                                                                      int max_group) {
  std::unique_ptr<GroupCommitter> committer(new GroupCommitter(store, max_group));
  if (metrics != nullptr) {
    committer->group_size_ = &prometheus::BuildHistogram()
                                  .Name("finance_ledger_group_requests")
                                  .Help("Posting requests committed together in one transaction")
                                  .Register(*metrics)
                                  .Add({}, prometheus::Histogram::BucketBoundaries{
                                               1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096});
    committer->commit_failures_ = &prometheus::BuildCounter()
                                       .Name("finance_ledger_commit_failures_total")
                                       .Help("Groups of postings whose transaction failed")
                                       .Register(*metrics)
                                       .Add({});
  }
  committer->thread_ = std::thread([c = committer.get()] { c->Run(); });
  return committer;
}

GroupCommitter::~GroupCommitter() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void GroupCommitter::Enqueue(PostingBatch batch, Done done) {
  bool full = false;
  {
    absl::MutexLock lock(&mu_);
    full = queue_.size() >= kMaxQueued;
    if (!stopping_ && !full) {
      queue_.push_back(Job{std::move(batch), std::move(done)});
      return;
    }
  }
  // Bounded queue: under overload callers are told to back off instead of the server growing
  // without limit. Nothing was posted, so a retry with the same request_id is safe.
  done(full ? runtime::ResourceExhausted(
                  "the ledger's queue is full; retry with the same request_id",
                  absl::Milliseconds(50))
            : absl::UnavailableError(
                  "the finance service is shutting down; retry with the same request_id"));
}

int64_t GroupCommitter::groups_committed() const {
  absl::MutexLock lock(&mu_);
  return groups_;
}

int64_t GroupCommitter::requests_applied() const {
  absl::MutexLock lock(&mu_);
  return applied_;
}

void GroupCommitter::Run() {
  std::vector<Job> jobs;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](GroupCommitter* c)
               ABSL_EXCLUSIVE_LOCKS_REQUIRED(c->mu_) { return c->stopping_ || !c->queue_.empty(); },
          this));
      if (queue_.empty()) return;  // stopping and drained
      while (!queue_.empty() && static_cast<int>(jobs.size()) < max_group_) {
        jobs.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    CommitGroup(jobs);
    jobs.clear();
  }
}

void GroupCommitter::CommitGroup(std::vector<Job>& jobs) {
  std::vector<absl::StatusOr<std::vector<v1::Posting>>> results;
  results.reserve(jobs.size());
  const absl::Status committed = store_.Write([&](Transaction& tx) -> absl::Status {
    results.clear();  // a retried transaction starts the group again
    ASSIGN_OR_RETURN(std::unique_ptr<LedgerWriter> ledger, LedgerWriter::Create(tx));
    for (Job& job : jobs) {
      absl::StatusOr<LedgerWriter::Checked> checked = ledger->Check(job.batch);
      if (!checked.ok()) {
        results.push_back(checked.status());  // refused: nothing of it was written
        continue;
      }
      absl::StatusOr<std::vector<v1::Posting>> written = ledger->Write(job.batch, *checked);
      // A storage error mid-write: abandon the whole group (nothing is acknowledged).
      if (!written.ok()) return written.status();
      results.push_back(*std::move(written));
    }
    return absl::OkStatus();
  });
  int64_t applied = 0;
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (!committed.ok()) {
      // A full disk stays RESOURCE_EXHAUSTED (runtime/sqlite maps it); other failures are
      // UNAVAILABLE: nothing was posted, so the retry is safe either way.
      absl::Status failed = runtime::sqlite::WriteFailure(
          committed,
          "the ledger could not commit; nothing was posted; retry with the same "
          "request_id");
      if (failed.code() != absl::StatusCode::kResourceExhausted) {
        failed = absl::UnavailableError(failed.message());
      }
      jobs[i].done(failed);
    } else {
      if (results[i].ok()) ++applied;
      jobs[i].done(std::move(results[i]));
    }
  }
  if (committed.ok() && group_size_ != nullptr) {
    group_size_->Observe(static_cast<double>(jobs.size()));
  }
  if (!committed.ok() && commit_failures_ != nullptr) commit_failures_->Increment();
  if (!committed.ok()) {
    runtime::log::Error("posting group failed to commit",
                        {{"requests", static_cast<int64_t>(jobs.size())},
                         {"error", std::string(committed.message())}});
  }
  absl::MutexLock lock(&mu_);
  if (committed.ok()) ++groups_;
  applied_ += applied;
}

}  // namespace dorset::finance
