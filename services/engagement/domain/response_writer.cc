#include "services/engagement/domain/response_writer.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/status/status_macros.h"
#include "services/engagement/storage/store_committer.h"

namespace dorset::engagement {

struct ResponseWriter::Committer {
  template <typename... Args>
  explicit Committer(Args&&... args) : committer(std::forward<Args>(args)...) {}
  StoreCommitter<Job> committer;
};

ResponseWriter::ResponseWriter(Engagement& engagement, prometheus::Registry* metrics, int max_batch,
                               runtime::AuditOutbox* outbox) {
  StoreCommitter<Job>::Options options{
      .max_group = max_batch,
      .metrics = metrics,
      .group_size_metric = "engagement_response_batch_size",
      .committed_metric = "engagement_responses_committed_total",
      .commit_failures_metric = "engagement_response_batch_failures_total",
      .finish_on_own_thread = true,
      .what = "the response",
      .retry_hint = "retry with the same request_id",
      // The linger's counters (docs/storage.md; the linger is off unless DORSET_GROUP_LINGER sets
      // it).
      .lingers_metric = "engagement_response_batch_lingers_total",
      .linger_caught_metric = "engagement_response_batch_linger_caught_total"};
  // The group's audit events as outbox rows viewing the calls' own strings, not AuditEvent
  // messages built and destroyed on the writer (issue 16, as finance's postings); the buffer is
  // kept from group to group. Writer thread only.
  auto rows = std::make_shared<std::vector<runtime::OutboxRow>>();
  committer_ = std::make_unique<Committer>(
      engagement.store(), std::move(options),
      [this, &engagement, outbox, rows](StoreTx& tx, std::span<Job> jobs,
                                        std::vector<absl::Status>& results) -> absl::Status {
        // Fresh for every attempt: a retried transaction starts again from nothing.
        ResponseBatch batch(tx);
        // PostgreSQL: what the group's responses read, sent at once in the round trip of BEGIN
        // (issue 16), not a round trip each.
        for (const Job& job : jobs) {
          const PendingResponse& p = job.pending;
          batch.WillRead(p.request.request_id, p.activity, p.theme_ids, p.stakeholder_id);
        }
        RETURN_IF_ERROR(batch.ReadAhead());
        for (size_t i = 0; i < jobs.size(); ++i) {
          // An error here (serialization failure, deadlock, lost connection) fails the whole
          // group: Database::Write runs it again from the start, or every job is refused.
          ASSIGN_OR_RETURN(results[i], engagement.responses().CommitResponse(
                                           jobs[i].pending, jobs[i].out, batch, &jobs[i].created));
        }
        // Each call's audit event, refused ones too, committed with the responses: one sync.
        // The request names the resource (the activity), so the reply is not needed. Written
        // last, after the data-version bump (`stamped` below): on PostgreSQL the rows take the
        // trail's append queue until the commit (AuditOutbox::Append).
        if (outbox != nullptr) {
          rows->clear();
          for (size_t i = 0; i < jobs.size(); ++i)
            jobs[i].audit.Collect(results[i], nullptr, *rows);
        }
        // Counter cells of the whole group are summed and written once, and its request records
        // together, in the same transaction.
        RETURN_IF_ERROR(batch.Flush());
        // Read ahead at the start: the group's bump is then sent with the commit.
        ASSIGN_OR_RETURN(const std::optional<uint64_t> start_version, batch.StartVersion());
        if (start_version.has_value()) tx.set_start_version(*start_version);
        group_counts_ = GroupCounts();
        if (engagement.aggregates().KeepsCounts()) {
          group_counts_.wanted = true;
          group_counts_.sums = batch.sums();
        }
        return absl::OkStatus();
      },
      [](Job& job, const absl::Status& status) {
        // After the commit, on the finishing thread: the pending response is not needed again.
        if (status.ok() && job.created) {
          Responses::CompleteCreated(std::move(job.pending.response), job.out);
        }
        job.done(status);
      },
      [this, &engagement, outbox](std::span<Job> jobs) {
        // Before any of the group's responses is acknowledged (and the generation raised).
        engagement.aggregates().ApplyGroup(group_counts_.data_version, group_counts_.sums);
        if (outbox != nullptr) outbox->GroupCommitted(jobs);
      },
      StoreCommitter<Job>::Changes::kResponses,
      // The version the group commits, when the aggregates keep counts; then the group's audit
      // rows collected above, the transaction's last statements.
      [this, outbox, rows](StoreTx& tx, uint64_t version) -> absl::Status {
        if (group_counts_.wanted) group_counts_.data_version = version;
        if (outbox == nullptr) return absl::OkStatus();
        absl::Status appended = outbox->Append(tx, *rows);
        rows->clear();
        return appended;
      });
}

ResponseWriter::~ResponseWriter() = default;

void ResponseWriter::Submit(Job&& job) { committer_->committer.Submit(std::move(job)); }

}  // namespace dorset::engagement
