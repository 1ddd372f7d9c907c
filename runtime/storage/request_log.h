// The SQLite request log (issue 16): where an SQLite store appends its new idempotency records
// (idempotency.h), so that a request does not dirty a page of the keyed record table of its own.
//
// Real callers' request_ids are UUIDs, random in key order: inserted straight into
// idempotency_record (a b-tree keyed by request_id) each new request dirtied a leaf of its own,
// written to the WAL at its group's commit and again at the checkpoint. A group of ~12 postings
// then wrote 20 of its 31 WAL frames for those leaves, and postings were ~35-40 % slower than
// with increasing ids (bench/README.md, session 26). So on SQLite new records are appended to
// idempotency_log in commit order (its rowid `seq`, AUTOINCREMENT so it only grows: a group's
// records share a page or two), and each connection keeps in memory which request_ids the log
// holds, RequestLogIndex below. When the log holds `merge_at` records, the transaction that finds
// it so moves them into idempotency_record in key order (one sorted INSERT ... SELECT, each leaf
// written once for every record it gains) and empties the log.
//
// The index is a hint kept correct by the log itself:
// - at the start of each transaction that prepares a record (IdempotencyRecord::Prepare) the
//   index reads the log's rows past `seen_through`: rows other connections or processes
//   committed, and this connection's own after their commit (with their seq);
// - a request_id the index holds is read from the log to be answered (by seq when known); one it
//   does not hold is not in the log, so it is looked up in idempotency_record only;
// - a rolled-back append or a merge leaves ids the index holds but the log does not: such an id
//   is then looked up in idempotency_record as well, so a stale hint costs a read, never a
//   wrong answer.
// PostgreSQL keeps its records in idempotency_record only: its replicas write concurrently, so
// no one process could know the recent ones. The view `idempotency_records` reads every record
// on either engine (the copy tool and tests).
#ifndef DORSET_RUNTIME_STORAGE_REQUEST_LOG_H_
#define DORSET_RUNTIME_STORAGE_REQUEST_LOG_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "runtime/storage/database.h"

namespace dorset::runtime::storage {

// What one SQLite connection knows of its database's idempotency_log. Used by one transaction
// at a time (as its connection is), so it needs no lock.
struct RequestLogIndex {
  // How many records the log may hold before a writing transaction merges it (SqliteOptions).
  size_t merge_at = 8192;
  // A read-only connection catches up but never merges.
  bool read_only = false;
  // request_id -> its seq in the log; 0 for a record this connection appended in a transaction
  // not yet caught up with (its seq is learnt at the next catch-up, or the id dropped if its
  // transaction rolled back).
  absl::flat_hash_map<std::string, int64_t> seq_of;
  // Every log row with seq <= seen_through is in seq_of; -1 before the first catch-up and after
  // a merge (the next catch-up reads the whole log again).
  int64_t seen_through = -1;
  // The ids appended with seq 0 since the last catch-up.
  std::vector<std::string> appended;
};

// A stored record's fields, as IdempotencyRecord matches them.
struct StoredRequest {
  std::string method;
  std::string principal;
  std::string request_hash;
  std::string reply;
};

// Once per transaction, before its first append (IdempotencyRecord::Prepare): reads the log's
// rows committed past index.seen_through into the index, drops the ids of appends rolled back,
// and, in a writing transaction whose index holds merge_at records or more, merges the log into
// idempotency_record.
absl::Status CatchUpRequestLog(Transaction& tx, RequestLogIndex& index);

// The log's record of request_id, nullopt when the index does not hold the id or the log no
// longer has it (a stale hint: the caller looks in idempotency_record).
absl::StatusOr<std::optional<StoredRequest>> ReadRequestLog(Transaction& tx,
                                                            const RequestLogIndex& index,
                                                            const std::string& request_id);

// Notes that this transaction appended request_id to the log (its seq learnt at the next
// catch-up).
void NoteRequestLogged(RequestLogIndex& index, const std::string& request_id);

}  // namespace dorset::runtime::storage

#endif  // DORSET_RUNTIME_STORAGE_REQUEST_LOG_H_
