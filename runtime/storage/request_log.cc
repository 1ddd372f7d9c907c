#include "runtime/storage/request_log.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "runtime/status/status_macros.h"

namespace dorset::runtime::storage {
namespace {

constexpr char kRecordColumns[] =
    "request_id, method, principal, request_hash, reply, create_micros";

// A merge moves merge_at / kMergeParts records (at least one): the part's slice of the key space
// is ~1/(2 * kMergeParts) of it (its records waited a whole round of the cursor; the log holds
// ~merge_at), so a merge writes about that share of idempotency_record's leaves.
constexpr size_t kMergeParts = 8;

// Moves the next part of the log into idempotency_record, in key order: the records whose
// request_id follows index.merge_cursor, up to the part's size (request_log.h, "The rolling
// merge"). A request_id both logged and in the table would be a broken invariant (every append
// is looked up first): the INSERT's key refuses it and the transaction fails, loudly, rather
// than keep either record.
absl::Status Merge(Transaction& tx, RequestLogIndex& index) {
  const size_t part = std::max<size_t>(1, index.merge_at / kMergeParts);
  std::vector<const std::string*> ahead;
  const auto collect = [&] {
    ahead.clear();
    for (const auto& [id, seq] : index.seq_of) {
      if (seq > 0 && id > index.merge_cursor) ahead.push_back(&id);
    }
  };
  collect();
  if (ahead.empty() && !index.merge_cursor.empty()) {  // the cursor went round: start again
    index.merge_cursor.clear();
    collect();
  }
  if (ahead.empty()) return absl::OkStatus();
  const auto by_id = [](const std::string* a, const std::string* b) { return *a < *b; };
  std::optional<std::string> through;  // none: to the end of the key space
  if (ahead.size() > part) {
    std::nth_element(ahead.begin(), ahead.begin() + (part - 1), ahead.end(), by_id);
    through = *ahead[part - 1];
  }
  const std::string range =
      through.has_value() ? "request_id > ?1 AND request_id <= ?2" : "request_id > ?1";
  ASSIGN_OR_RETURN(Statement move, tx.Prepare(absl::StrCat(
                                       "INSERT INTO idempotency_record (", kRecordColumns,
                                       ") SELECT ", kRecordColumns, " FROM idempotency_log WHERE ",
                                       range, " ORDER BY request_id")));
  ASSIGN_OR_RETURN(Statement drop,
                   tx.Prepare(absl::StrCat("DELETE FROM idempotency_log WHERE ", range)));
  for (Statement* statement : {&move, &drop}) {
    statement->Bind(1, index.merge_cursor);
    if (through.has_value()) statement->Bind(2, *through);
    absl::Status status = statement->Run();
    statement->Reset();
    RETURN_IF_ERROR(status);
  }
  // The part's ids stay in the index until the next catch-up finds them gone from the log (this
  // transaction committed): if it rolls back they are still logged, and named.
  index.merged = RequestLogIndex::MergedPart{
      .after = index.merge_cursor, .through = through, .seen_through = index.seen_through};
  index.merge_cursor = through.value_or("");
  return absl::OkStatus();
}

// Drops the last merge's ids from the index once the log no longer holds any record of its part
// that was there at the merge (it committed). When some are still there (it rolled back) they
// stay, and the part is merged again in the cursor's next round.
absl::Status ForgetMerged(Transaction& tx, RequestLogIndex& index) {
  if (!index.merged.has_value()) return absl::OkStatus();
  const RequestLogIndex::MergedPart merged = *std::move(index.merged);
  index.merged.reset();
  ASSIGN_OR_RETURN(
      Statement left,
      tx.Prepare(merged.through.has_value() ? "SELECT 1 FROM idempotency_log WHERE seq <= ?3 AND "
                                              "request_id > ?1 AND request_id <= ?2 LIMIT 1"
                                            : "SELECT 1 FROM idempotency_log WHERE seq <= ?3 AND "
                                              "request_id > ?1 AND ?2 IS NULL LIMIT 1"));
  left.Bind(1, merged.after).Bind(2, merged.through).Bind(3, merged.seen_through);
  absl::StatusOr<bool> row = left.Step();
  left.Reset();
  if (!row.ok()) return row.status();
  if (*row) return absl::OkStatus();  // rolled back: every id of the part is still logged
  absl::erase_if(index.seq_of, [&](const auto& entry) {
    const auto& [id, seq] = entry;
    return seq > 0 && seq <= merged.seen_through && id > merged.after &&
           (!merged.through.has_value() || id <= *merged.through);
  });
  return absl::OkStatus();
}

}  // namespace

absl::Status CatchUpRequestLog(Transaction& tx, RequestLogIndex& index) {
  ASSIGN_OR_RETURN(Statement last, tx.Prepare("SELECT max(seq) FROM idempotency_log"));
  ASSIGN_OR_RETURN(bool row, last.Step());
  const int64_t last_seq = row && !last.IsNull(0) ? last.Int(0) : 0;
  last.Reset();
  // Seqs only grow (AUTOINCREMENT), so a lower last seq means another connection merged the
  // log, or the file was replaced: start again from the whole log.
  if (last_seq < index.seen_through) {
    index.seq_of.clear();
    index.seen_through = -1;
    index.merged.reset();  // the whole log is read again below: nothing stale is kept
  }
  if (last_seq > index.seen_through) {
    ASSIGN_OR_RETURN(Statement rows,
                     tx.Prepare("SELECT seq, request_id FROM idempotency_log WHERE seq > ?"));
    rows.Bind(1, index.seen_through);
    while (true) {
      absl::StatusOr<bool> next = rows.Step();
      if (!next.ok()) {
        rows.Reset();
        return next.status();
      }
      if (!*next) break;
      index.seq_of.insert_or_assign(rows.Text(1), rows.Int(0));
    }
    rows.Reset();
    index.seen_through = last_seq;
  }
  // This connection's appends whose seq the read above did not find were rolled back.
  for (const std::string& id : index.appended) {
    if (auto it = index.seq_of.find(id); it != index.seq_of.end() && it->second == 0) {
      index.seq_of.erase(it);
    }
  }
  index.appended.clear();
  RETURN_IF_ERROR(ForgetMerged(tx, index));
  if (!index.read_only && index.seq_of.size() >= index.merge_at) return Merge(tx, index);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<StoredRequest>> ReadRequestLog(Transaction& tx,
                                                            const RequestLogIndex& index,
                                                            const std::string& request_id) {
  auto it = index.seq_of.find(request_id);
  if (it == index.seq_of.end()) return std::optional<StoredRequest>();
  // By seq when known; an append of this transaction (seq 0) is found by a scan of the log,
  // which holds at most merge_at records (a retry inside its own transaction: rare).
  ASSIGN_OR_RETURN(
      Statement read,
      tx.Prepare(it->second > 0
                     ? "SELECT method, principal, request_hash, reply FROM idempotency_log "
                       "WHERE seq = ? AND request_id = ?"
                     : "SELECT method, principal, request_hash, reply FROM idempotency_log "
                       "WHERE request_id = ?2 AND ?1 = 0"));
  read.Bind(1, it->second).Bind(2, request_id);
  absl::StatusOr<bool> row = read.Step();
  if (!row.ok() || !*row) {
    read.Reset();
    if (!row.ok()) return row.status();
    return std::optional<StoredRequest>();
  }
  StoredRequest stored{.method = read.Text(0),
                       .principal = read.Text(1),
                       .request_hash = read.Text(2),
                       .reply = read.Blob(3)};
  read.Reset();
  return std::optional<StoredRequest>(std::move(stored));
}

void NoteRequestLogged(RequestLogIndex& index, const std::string& request_id) {
  index.seq_of.insert_or_assign(request_id, 0);
  index.appended.push_back(request_id);
}

}  // namespace dorset::runtime::storage
