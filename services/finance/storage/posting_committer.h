// Group commit for postings on the storage lane's one committer (runtime/storage/group_commit.h):
// handlers submit a parsed batch with a completion; the committer writes many requests in ONE
// write transaction (the ledger checks a request before writing any of it, so a refused request
// fails alone) and completes them after the commit.
#ifndef DORSET_SERVICES_FINANCE_STORAGE_POSTING_COMMITTER_H_
#define DORSET_SERVICES_FINANCE_STORAGE_POSTING_COMMITTER_H_

#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "dorset/finance/v1/finance.pb.h"
#include "runtime/audit/audit_outbox.h"
#include "runtime/storage/group_commit.h"
#include "services/finance/posting_input.h"
#include "services/finance/storage/store.h"

namespace prometheus {
class Registry;
}

namespace dorset::finance {

struct PostingJob {
  PostingBatch batch;
  std::function<void(absl::StatusOr<std::vector<v1::Posting>>)> done;
  std::vector<v1::Posting> postings;  // filled by the commit
  // The call's audit event, written in the group's transaction when the committer has an outbox
  // (runtime/audit/audit_outbox.h); `single`: the reply is the one posting (CreatePosting), which
  // names the created resource in the event.
  runtime::OutboxedAudit audit = {};
  bool single = false;
};
using PostingCommitter = runtime::storage::GroupCommitter<PostingJob>;

// The queue (runtime::storage::Database::WriteQueued) every replica's posting groups wait in on
// PostgreSQL: each reads the ledger's head (next posting id, each year's chain hash) and appends
// after it, so two at once would collide under SERIALIZABLE (docs/finance.md, "Replicas").
inline constexpr int64_t kLedgerAppendQueue = 0x6c65646765726864;  // "ledgerhd"

// `metrics` (optional) receives finance_ledger_group_requests (a histogram of requests per
// committed group) and finance_ledger_commit_failures_total. With `outbox` (optional, outliving
// the committer) each group writes its calls' audit events in its own transaction, so a posting
// is acknowledged after one commit.
std::unique_ptr<PostingCommitter> StartPostingCommitter(FinanceStore& store,
                                                        prometheus::Registry* metrics = nullptr,
                                                        int max_group = 4096,
                                                        runtime::AuditOutbox* outbox = nullptr);

}  // namespace dorset::finance

#endif  // DORSET_SERVICES_FINANCE_STORAGE_POSTING_COMMITTER_H_
