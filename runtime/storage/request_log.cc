#include "runtime/storage/request_log.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/status/status_macros.h"

namespace dorset::runtime::storage {
namespace {

constexpr char kRecordColumns[] =
    "request_id, method, principal, request_hash, reply, create_micros";

// Moves every logged record into idempotency_record, in key order: each leaf of the keyed table
// is written once for all the records it gains, not once per record's group. A request_id both
// logged and in the table would be a broken invariant (every append is looked up first): the
// INSERT's key refuses it and the transaction fails, loudly, rather than keep either record.
absl::Status Merge(Transaction& tx, RequestLogIndex& index) {
  RETURN_IF_ERROR(tx.Exec(
      absl::StrCat("INSERT INTO idempotency_record (", kRecordColumns, ") SELECT ", kRecordColumns,
                   " FROM idempotency_log ORDER BY request_id; DELETE FROM idempotency_log")));
  // Whether or not this transaction commits, the next one reads the whole log again: empty
  // after a commit, as it was after a rollback.
  index.seq_of.clear();
  index.appended.clear();
  index.seen_through = -1;
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
