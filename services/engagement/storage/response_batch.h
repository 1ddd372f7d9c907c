// One group-commit transaction of CreateResponse (services/engagement/domain/response_writer.h):
// the response hot path's statements, prepared once per transaction so each of the many responses a
// group writes does not re-parse its SQL; the activities' windows and allowed practices, read
// once per transaction (a concurrent change of an activity conflicts with the transaction, which
// then runs again); and the counter deltas of the whole group, written once before the commit.
// Fresh for every attempt: a retried transaction starts again from nothing.
#ifndef DORSET_SERVICES_ENGAGEMENT_STORAGE_RESPONSE_BATCH_H_
#define DORSET_SERVICES_ENGAGEMENT_STORAGE_RESPONSE_BATCH_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "dorset/engagement/v1/engagement.pb.h"
#include "runtime/storage/database.h"
#include "runtime/storage/idempotency.h"
#include "services/engagement/domain/counters.h"

namespace dorset::engagement {

class ResponseBatch {
 public:
  explicit ResponseBatch(runtime::storage::Transaction& tx);
  ~ResponseBatch();
  ResponseBatch(const ResponseBatch&) = delete;
  ResponseBatch& operator=(const ResponseBatch&) = delete;

  // What a response is judged against: the activity's state, window and allowed practices.
  struct Window {
    bool found = false;
    v1::ActivityState state = v1::ACTIVITY_STATE_UNSPECIFIED;
    std::optional<int64_t> start, end;
    absl::flat_hash_set<std::string> allowed_practices;
  };
  // Read at the first response of the activity in this transaction.
  absl::StatusOr<const Window*> ActivityWindow(const std::string& activity);
  absl::StatusOr<bool> ThemeExists(const std::string& activity, const std::string& theme);
  // Whether the stakeholder is erased; nullopt when there is no such stakeholder.
  absl::StatusOr<std::optional<bool>> StakeholderErased(const std::string& id);
  // The request-id record (runtime/storage/idempotency.h): the name of the response a previous
  // call created, if any. Keyed by request id, method, principal and request hash.
  using RequestKey = runtime::storage::RequestKey;
  absl::StatusOr<std::optional<std::string>> FindRequest(const runtime::storage::RequestKey& key);
  // What the group's responses will read, said once a response (its strings must stay alive and
  // unchanged until the transaction ends: the group's jobs hold them), then sent at once by
  // ReadAhead before the first part. On PostgreSQL every read the parts would make - the
  // request records (runtime::storage::IdempotencyRecord::SendPrefetch), each activity's window,
  // each theme, each stakeholder - and the data version and the ids of the group's responses go
  // in one round trip with BEGIN (runtime::storage::Statement::SendAhead), and the parts answer
  // from memory (issue 16: a round trip each before). Every statement the transaction sends
  // from then on but the first after a read waits in the client for the next read or the
  // commit (Transaction::HoldSends). On SQLite, where a statement is a call in the process,
  // nothing.
  void WillRead(const std::string& request_id, const std::string& activity,
                const std::vector<std::string>& theme_ids, const std::string& stakeholder_id);
  absl::Status ReadAhead();
  // The data version at the transaction's start when ReadAhead read it (PostgreSQL), for the
  // group's bump (StoreTx::set_start_version); nullopt otherwise.
  absl::StatusOr<std::optional<uint64_t>> StartVersion();
  // Kept for Flush, which writes the group's records together (FindRequest sees it at once). A
  // kept record is not taken back when the response's part fails: call it after the response's
  // last step that can fail.
  absl::Status StoreRequest(const runtime::storage::RequestKey& key, const std::string& name,
                            int64_t now);
  // Writes the response (its stakeholder id, "" when anonymous; its theme ids and their
  // theme_assignments; its time in micros) at version 1 and returns its id. The row is kept and
  // written by Flush with the group's others: on SQLite in a few multi-row INSERTs (a
  // statement's start and halt once per statement, not once per response, ~5k instructions a
  // response), under the id SQLite would have given it (the table's largest id plus one,
  // counted on from the transaction's first response); on PostgreSQL in one `unnest` INSERT sent
  // with the commit, under an id taken from the table's sequence by ReadAhead (one nextval a
  // response of the group: a refused response leaves a gap, as a rolled-back INSERT does):
  // `activity`, `stakeholder_id` and `response` must stay alive and unchanged until Flush (the
  // group's jobs hold them). A kept row is not taken back when the response's part fails: call it
  // after the part's last check. Its only reference, the activity, is read by the same
  // transaction (ActivityWindow), so the kept row cannot fail at Flush but with the store itself.
  absl::StatusOr<int64_t> InsertResponse(const std::string& activity,
                                         const std::string& stakeholder_id,
                                         const v1::Response& response,
                                         const std::vector<std::string>& theme_ids, int64_t now);
  // The stored response (the kept rows written first: a request_id repeated inside the group
  // reads the first call's response).
  absl::StatusOr<v1::Response> LoadResponse(const std::string& activity, int64_t id);

  // Runs one response's checks as a part of the group's transaction that writes nothing itself
  // (its row, record and counts are kept for Flush: runtime::storage::Transaction::
  // InPartWritingLater, no savepoint on either engine): the value is the response's own outcome
  // (a refused one leaves nothing); an error dooms the whole transaction (serialization
  // failure, deadlock, lost connection, any failed statement on PostgreSQL) and must fail the
  // group so that it runs again as a whole.
  absl::StatusOr<absl::Status> InPart(absl::FunctionRef<absl::Status()> fn);

  // Adds a response's counter cells (ForEachCounterCell: once each, not built as strings) to the
  // group's counter deltas; nothing is written until Flush, which writes every non-zero delta.
  void AddToCounters(const std::string& activity, v1::Channel channel, v1::Sentiment sentiment,
                     const std::string& locality, const std::vector<std::string>& theme_ids);
  // Writes the group's kept responses, request records (a few multi-row INSERTs each) and
  // counter deltas; call before the commit. On PostgreSQL they are sent, not waited for: the
  // commit returns their failure (the group's, as a whole).
  absl::Status Flush();
  // The group's counter deltas (Flush writes them; Aggregates::ApplyGroup keeps them up to date).
  const CounterSums& sums() const { return sums_; }

 private:
  struct Statements;
  struct Ahead;
  absl::StatusOr<Statements*> Prepared();
  // PostgreSQL: the next of the ids ReadAhead took (one more from the sequence when they ran out).
  absl::StatusOr<int64_t> NextId(Statements& st);
  // A response InsertResponse kept for WriteKept; views of the caller's, bar the two columns it
  // encodes.
  struct KeptResponse {
    int64_t id;
    const std::string* activity;
    const std::string* stakeholder_id;
    const v1::Response* response;
    std::string themes;       // JoinList of the theme ids
    std::string assignments;  // EncodeThemeAssignments
    int64_t now;
  };
  // `send`: on PostgreSQL sent without waiting (Flush), not run (before a read-back).
  absl::Status WriteKept(bool send);

  runtime::storage::Transaction& tx_;
  std::unique_ptr<Statements> statements_;  // prepared at the first use
  std::unique_ptr<Ahead> ahead_;            // PostgreSQL: WillRead's, then ReadAhead's reads
  CounterSums sums_;
  std::vector<KeptResponse> kept_;
  // SQLite: the id of the transaction's next response (max(id) + 1, read at its first).
  std::optional<int64_t> next_id_;
  // PostgreSQL: the ids ReadAhead took from the sequence, in order, and the next one's place.
  std::vector<int64_t> ids_;
  size_t ids_used_ = 0;
  absl::flat_hash_map<std::string, Window> windows_;
  // activity -> its themes found (looked up without copying the names: every response asks)
  absl::flat_hash_map<std::string, absl::flat_hash_set<std::string>> themes_found_;
  // stakeholder id -> erased, nullopt when there is none (read once a transaction)
  absl::flat_hash_map<std::string, std::optional<bool>> stakeholders_;
};

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_STORAGE_RESPONSE_BATCH_H_
