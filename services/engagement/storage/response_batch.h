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
  // On PostgreSQL, reads the records of the group's `request_ids` up front with a few statements
  // (runtime::storage::IdempotencyRecord::Prefetch), so that FindRequest answers each response
  // from memory instead of a round trip of its own; on SQLite, where a statement is a call in
  // the process, nothing. Call before the first part, outside any savepoint.
  absl::Status PrefetchRequests(std::span<const std::string> request_ids);
  // Kept for Flush, which writes the group's records together (FindRequest sees it at once). A
  // kept record is not taken back when the response's part fails: call it after the response's
  // last step that can fail.
  absl::Status StoreRequest(const runtime::storage::RequestKey& key, const std::string& name,
                            int64_t now);
  // Writes the response (its stakeholder id, "" when anonymous; its theme ids and their
  // theme_assignments; its time in micros) at version 1 and returns its id. On PostgreSQL an
  // INSERT at once. On SQLite the row is kept and written by Flush with the group's others (a
  // few multi-row INSERTs: a statement's start and halt once per statement, not once per
  // response, ~5k instructions a response), under the id SQLite would have given it (the
  // table's largest id plus one, counted on from the transaction's first response):
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

  // Runs one response's checks and writes as a part of the group's transaction whose only write
  // is its last statement, the response's INSERT (runtime::storage::Transaction::InOneWritePart:
  // no savepoint on SQLite, one on PostgreSQL): the value is the response's own outcome (a
  // refused one leaves nothing); an error dooms the whole transaction (serialization failure,
  // deadlock, lost connection) and must fail the group so that it runs again as a whole.
  absl::StatusOr<absl::Status> InPart(absl::FunctionRef<absl::Status()> fn);

  // Adds a response's counter cells (ForEachCounterCell: once each, not built as strings) to the
  // group's counter deltas; nothing is written until Flush, which writes every non-zero delta.
  void AddToCounters(const std::string& activity, v1::Channel channel, v1::Sentiment sentiment,
                     const std::string& locality, const std::vector<std::string>& theme_ids);
  // Writes the group's kept responses, request records (a few multi-row INSERTs each) and
  // counter deltas; call before the commit.
  absl::Status Flush();
  // The group's counter deltas (Flush writes them; Aggregates::ApplyGroup keeps them up to date).
  const CounterSums& sums() const { return sums_; }

 private:
  struct Statements;
  absl::StatusOr<Statements*> Prepared();
  // SQLite: a response InsertResponse kept for WriteKept; views of the caller's, bar the two
  // columns it encodes.
  struct KeptResponse {
    int64_t id;
    const std::string* activity;
    const std::string* stakeholder_id;
    const v1::Response* response;
    std::string themes;       // JoinList of the theme ids
    std::string assignments;  // EncodeThemeAssignments
    int64_t now;
  };
  absl::Status WriteKept();

  runtime::storage::Transaction& tx_;
  std::unique_ptr<Statements> statements_;  // prepared at the first use
  CounterSums sums_;
  std::vector<KeptResponse> kept_;
  // SQLite: the id of the transaction's next response (max(id) + 1, read at its first).
  std::optional<int64_t> next_id_;
  absl::flat_hash_map<std::string, Window> windows_;
  // activity -> its themes found (looked up without copying the names: every response asks)
  absl::flat_hash_map<std::string, absl::flat_hash_set<std::string>> themes_found_;
};

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_STORAGE_RESPONSE_BATCH_H_
