#include "services/engagement/response_writer.h"

#include "prometheus/counter.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "runtime/logging/log.h"
#include "runtime/sqlite/database.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"

namespace dorset::engagement {

using runtime::sqlite::Database;
using runtime::sqlite::Transaction;

ResponseWriter::ResponseWriter(Engagement& engagement, prometheus::Registry* metrics, int max_batch)
    : engagement_(engagement), max_batch_(max_batch) {
  if (metrics != nullptr) {
    batch_size_ = &prometheus::BuildHistogram()
                       .Name("engagement_response_batch_size")
                       .Help("Responses written per group-commit transaction")
                       .Register(*metrics)
                       .Add({}, prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128,
                                                                        256, 512});
    committed_ = &prometheus::BuildCounter()
                      .Name("engagement_responses_committed_total")
                      .Help("Responses acknowledged after their transaction committed")
                      .Register(*metrics)
                      .Add({});
  }
  finisher_ = std::thread([this] { FinishLoop(); });
  thread_ = std::thread([this] { Loop(); });
}

ResponseWriter::~ResponseWriter() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
  {
    absl::MutexLock lock(&done_mu_);
    finisher_stopping_ = true;
  }
  finisher_.join();
}

void ResponseWriter::Submit(Job job) {
  absl::MutexLock lock(&mu_);
  queue_.push_back(std::move(job));
}

void ResponseWriter::Loop() {
  std::vector<Job> batch;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](ResponseWriter* w)
               ABSL_EXCLUSIVE_LOCKS_REQUIRED(w->mu_) { return w->stopping_ || !w->queue_.empty(); },
          this));
      if (queue_.empty()) return;  // stopping and drained
      while (!queue_.empty() && static_cast<int>(batch.size()) < max_batch_) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    WriteBatch(batch);
    batch = std::vector<Job>();
  }
}

void ResponseWriter::WriteBatch(std::vector<Job>& batch) {
  std::vector<absl::Status> results(batch.size());
  absl::Status batch_status;
  {
    Store& store = engagement_.store();
    absl::MutexLock lock(&store.write_mutex());
    Database& db = store.writer();
    absl::StatusOr<Transaction> txn = Transaction::Begin(db);
    if (!txn.ok()) {
      batch_status = txn.status();
    } else {
      // Counter cells of the whole batch are summed and written once, in the same transaction.
      ResponseBatch context;
      for (size_t i = 0; i < batch.size(); ++i) {
        results[i] = engagement_.CommitResponse(db, batch[i].pending, batch[i].out, &context);
      }
      batch_status = engagement_.ApplyCounterSums(db, context.sums);
      if (batch_status.ok()) batch_status = txn->Commit();
    }
  }
  if (!batch_status.ok()) {
    runtime::log::Error("response batch not committed",
                        {{"responses", static_cast<int64_t>(batch.size())},
                         {"error", std::string(batch_status.message())}});
  }
  if (batch_size_ != nullptr) batch_size_->Observe(static_cast<double>(batch.size()));
  for (size_t i = 0; i < batch.size(); ++i) {
    if (batch_status.ok() && results[i].ok() && committed_ != nullptr) committed_->Increment();
    if (!batch_status.ok() && results[i].ok()) {
      results[i] = runtime::sqlite::WriteFailure(
          batch_status, "the response could not be stored; retry with the same request_id");
    }
  }
  // Finishing the calls (which may send on the wire) happens on the finisher thread, so the
  // writer can start the next transaction at once.
  absl::MutexLock lock(&done_mu_);
  finished_.push_back({std::move(batch), std::move(results)});
}

void ResponseWriter::FinishLoop() {
  while (true) {
    Finished finished;
    {
      absl::MutexLock lock(&done_mu_);
      done_mu_.Await(absl::Condition(
          +[](ResponseWriter* w) ABSL_EXCLUSIVE_LOCKS_REQUIRED(w->done_mu_) {
            return w->finisher_stopping_ || !w->finished_.empty();
          },
          this));
      if (finished_.empty()) return;  // stopping and drained
      finished = std::move(finished_.front());
      finished_.pop_front();
    }
    for (size_t i = 0; i < finished.jobs.size(); ++i) finished.jobs[i].done(finished.results[i]);
  }
}

}  // namespace dorset::engagement
