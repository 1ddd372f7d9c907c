// Group commit for CreateResponse on the storage lane's one group committer
// (runtime/storage/group_commit.h: bounded queue, one shutdown rule). Handlers hand checked
// responses to one writer thread, which writes whatever has queued up (up to a group) in ONE
// transaction - one fsync for many responses - and only then completes each call (on a second
// thread, so sending the replies does not delay the next transaction). Each response is a part of
// the transaction (ResponseBatch::InPart), so one refused response (activity just closed, unknown
// theme) does not sink the others, and a request_id repeated inside a group sees the first write
// (same transaction).
#ifndef DORSET_SERVICES_ENGAGEMENT_DOMAIN_RESPONSE_WRITER_H_
#define DORSET_SERVICES_ENGAGEMENT_DOMAIN_RESPONSE_WRITER_H_

#include <functional>
#include <memory>
#include <optional>

#include "runtime/audit/audit_outbox.h"
#include "services/engagement/domain/counters.h"
#include "services/engagement/domain/engagement.h"

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace dorset::engagement {

class ResponseWriter {
 public:
  struct Job {
    PendingResponse pending;
    v1::Response* out;  // filled before `done` runs with OK
    std::function<void(const absl::Status&)> done;
    // The call's audit event, written in the group's transaction when the writer has an outbox
    // (runtime/audit/audit_outbox.h).
    runtime::OutboxedAudit audit = {};
    // Set by each attempt of the group: the response was written (its reply is completed from
    // `pending` after the commit, Responses::CompleteCreated), not a retry's stored one.
    bool created = false;
  };

  // `metrics` (may be null) gets engagement_response_batch_size,
  // engagement_responses_committed_total and engagement_response_batch_failures_total (no
  // labels: nothing about people). With `outbox` (may be null; outliving the writer) each group
  // writes its calls' audit events in its own transaction, so a response is acknowledged after
  // one commit.
  ResponseWriter(Engagement& engagement, prometheus::Registry* metrics, int max_batch = 512,
                 runtime::AuditOutbox* outbox = nullptr);
  // Refuses new responses (UNAVAILABLE), writes what is queued, then stops.
  ~ResponseWriter();
  ResponseWriter(const ResponseWriter&) = delete;
  ResponseWriter& operator=(const ResponseWriter&) = delete;

  // `done` runs after the transaction holding the response committed (or with the error that
  // refused it; RESOURCE_EXHAUSTED at once when too many responses are waiting).
  void Submit(Job&& job);

 private:
  // The last group's counter deltas and the data version it commits, for the aggregates' kept
  // counts (Aggregates::ApplyGroup): wanted only while some are kept. Writer thread only.
  struct GroupCounts {
    bool wanted = false;
    CounterSums sums;
    std::optional<uint64_t> data_version;
  };
  GroupCounts group_counts_;
  struct Committer;  // the lane's group committer (runtime/storage/group_commit.h)
  std::unique_ptr<Committer> committer_;
};

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_DOMAIN_RESPONSE_WRITER_H_
