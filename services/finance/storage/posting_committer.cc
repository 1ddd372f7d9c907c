#include "services/finance/storage/posting_committer.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/status/status_macros.h"
#include "services/finance/storage/ledger.h"
#include "services/finance/storage/plan_figures.h"

namespace dorset::finance {

std::unique_ptr<PostingCommitter> StartPostingCommitter(FinanceStore& store,
                                                        prometheus::Registry* metrics,
                                                        int max_group,
                                                        runtime::AuditOutbox* outbox) {
  // The ledger state one group leaves for the next (ledger.h); only the committer's one writer
  // thread touches it.
  auto memo = std::make_shared<LedgerMemo>();
  // What the group's commit changed that the plans' kept figures take (plan_figures.h): the
  // totals written and the data version committed, from the transaction's last run; and the
  // commit's part in the store's OwnCommits (runtime/storage/data_version.h).
  struct GroupTotals {
    explicit GroupTotals(runtime::storage::OwnCommits* own) : commit(own) {}
    std::optional<uint64_t> version;
    std::vector<std::pair<LedgerWriter::TotalKey, int64_t>> totals;
    runtime::storage::OwnCommit commit;
    // The group's audit events and request ids, their buffers kept from group to group (issue
    // 16: each a fresh allocation of 1 KB and more a group, which made glibc consolidate).
    std::vector<runtime::OutboxRow> events;
    std::vector<std::string> request_ids;
  };
  auto group = std::make_shared<GroupTotals>(&store.own_commits());
  return std::make_unique<PostingCommitter>(
      store.database(),
      runtime::storage::GroupCommitOptions{
          .max_group = max_group,
          .metrics = metrics,
          .group_size_metric = "finance_ledger_group_requests",
          .committed_metric = "",
          .commit_failures_metric = "finance_ledger_commit_failures_total",
          // The replies leave on a second thread, so the writer starts the next group while
          // they are sent (session 21 measured it faster; docs/finance.md).
          .finish_on_own_thread = true,
          // Every posting reads the ledger's head (the highest posting id, each year's chain
          // hash) and appends after it: replicas queue for it rather than roll back.
          .write_queue = kLedgerAppendQueue,
          .what = "the ledger",
          .retry_hint = "retry with the same request_id",
          // The linger's counters (docs/storage.md; the linger is off unless DORSET_GROUP_LINGER
          // sets it).
          .lingers_metric = "finance_ledger_group_lingers_total",
          .linger_caught_metric = "finance_ledger_group_linger_caught_total",
      },
      [outbox, memo, group](Transaction& tx, std::span<PostingJob> jobs,
                            std::vector<absl::Status>& results) -> absl::Status {
        group->version.reset();  // a retried transaction starts again
        group->totals.clear();
        group->commit.Withdraw();
        // PostgreSQL: the group's request records read with the data version, in the round trip
        // of the queue's lock and BEGIN (issue 16). On SQLite nothing is read ahead.
        std::vector<std::string>& request_ids = group->request_ids;
        request_ids.clear();
        if (tx.engine() == runtime::storage::Engine::kPostgres) {
          for (const PostingJob& job : jobs) request_ids.push_back(job.batch.request_id);
        }
        ASSIGN_OR_RETURN(std::unique_ptr<LedgerWriter> ledger,
                         LedgerWriter::Create(tx, memo.get(), request_ids));
        for (size_t i = 0; i < jobs.size(); ++i) {
          absl::StatusOr<LedgerWriter::Checked> checked = ledger->Check(jobs[i].batch);
          if (!checked.ok()) {
            results[i] = checked.status();  // refused: nothing of it was written
            continue;
          }
          // A storage error mid-write abandons the whole group (nothing is acknowledged).
          ASSIGN_OR_RETURN(jobs[i].postings, ledger->Write(jobs[i].batch, *checked));
        }
        // The group's totals, each written once (a refused request changed none), and its
        // request records.
        RETURN_IF_ERROR(ledger->Flush());
        // In the same commit, so no reply kept for the older data is served after this. The
        // writer read the version at the transaction's start, so the bump need not be waited
        // for: it goes in one round trip with the writes sent above and the commit (issue 16).
        if (const std::optional<uint64_t> read = ledger->start_version(); read.has_value()) {
          ASSIGN_OR_RETURN(group->version, FinanceStore::SendDataVersionBump(tx, *read));
        } else {
          ASSIGN_OR_RETURN(group->version, FinanceStore::BumpDataVersion(tx));
        }
        group->commit.Bumped(*group->version);
        group->totals = ledger->flushed_totals();
        // Each call's audit event, refused ones too, committed with the postings: one sync. Last:
        // on PostgreSQL it takes the trail's append queue until the commit (AuditOutbox::Append).
        if (outbox != nullptr) {
          // As rows viewing the calls' strings, not AuditEvent messages (audit_outbox.h).
          std::vector<runtime::OutboxRow>& events = group->events;
          events.clear();
          for (size_t i = 0; i < jobs.size(); ++i) {
            const bool posted = results[i].ok() && jobs[i].single && !jobs[i].postings.empty();
            jobs[i].audit.Collect(results[i], posted ? &jobs[i].postings.front() : nullptr, events);
          }
          absl::Status appended = outbox->Append(tx, events);
          events.clear();
          RETURN_IF_ERROR(appended);
        }
        ledger->Keep();  // confirmed below once committed
        return absl::OkStatus();
      },
      // On the finisher thread, after Committed (on the writer thread) for a committed group;
      // the writer may be writing the next group meanwhile, so `group` is not touched here.
      [&store](PostingJob& job, const absl::Status& status) {
        if (!status.ok()) {
          // A group not known to have committed (it may be in the store or not), or a refusal
          // (which changed nothing): the kept figures go, to be read afresh, and the generation
          // is raised (maybe committed: no reply kept before it is served after this), leaving
          // the follower to read whether it did. A failed group's version leaves OwnCommits when
          // the next group starts (the writer's Withdraw above), as engagement's does.
          store.figures().ApplyGroup(std::nullopt, {});
          store.AdvanceAfterPostings();
          job.done(status);
        } else {
          job.done(std::move(job.postings));
        }
      },
      [&store, outbox, memo, group](std::span<PostingJob> jobs) {
        memo->Confirm();
        // Before any of the group's calls is answered (GroupCommitter's Committed).
        store.figures().ApplyGroup(group->version, group->totals);
        // Committed: no reply kept before it is served after this, raised once for the group.
        // A group writes no plan (FinanceStore::plan_generation), so it covers its version only
        // when nothing of another writer came before it (OwnCommits).
        store.AdvanceAfterPostings();
        group->commit.Covered(runtime::storage::OwnCommits::Advanced::kSome);
        if (outbox != nullptr) outbox->GroupCommitted(jobs);
      });
}

}  // namespace dorset::finance
