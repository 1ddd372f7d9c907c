// The storage lane's one idempotency record (issue 12, AIP-155): a request carrying a
// `request_id` is answered with the first call's reply when it is the same request, and refused
// with ALREADY_EXISTS (reason REQUEST_ID_REUSED) when the id was used before for anything else.
// Every service keeps the record in its own database, in the table `idempotency_record` that its
// migrations create (below), and reads and writes it inside the write
// transaction that makes the change, so the change and its record commit together or not at all.
//
// The one rule for "same id, other content" (docs/storage.md, "Idempotency"): the id is unique
// per service; a stored record matches only when the method, the principal and the request hash
// (runtime::RequestHash, or the service's canonical content hash) are all the same. Anything else
// is REQUEST_ID_REUSED — never another method's or another caller's reply. A hash of "" (recorded
// before fingerprints were kept) is answered as a retry, as runtime::CheckReplay says.
//
//   ASSIGN_OR_RETURN(IdempotencyRecord record, IdempotencyRecord::Prepare(tx));
//   ASSIGN_OR_RETURN(std::optional<std::string> reply, record.Find(key));
//   if (reply) return Decode(*reply);             // the first call's answer
//   ... make the change ...
//   RETURN_IF_ERROR(record.Store(key, Encode(result), now_micros));
//
// A group commit (group_commit.h) may keep its calls' records and write them together before its
// commit (StoreLater, then Flush: a few multi-row INSERTs instead of one per call); Find sees a
// kept record at once, so a request_id repeated inside one group is answered as a retry (or
// refused as REQUEST_ID_REUSED) like one repeated across groups.
//
// Deferred lookups (issue 16: the lookup was ~4.7k instructions of a ~172k posting on SQLite,
// and almost every request is new): a group commit's record prepared with Lookups::kDeferred, in
// a transaction whose committer allows it (SQLite, a group's first attempt: Transaction::
// defer_request_lookups), answers Find from the group's kept records only and takes every other
// request for new. Flush then finds out: a kept record whose request_id is stored already fails
// its INSERT (the primary key), and a request taken for new but not stored (refused, or answered
// otherwise) is looked up there; either way Flush fails the transaction with RequestSeenAgain()
// and the committer rolls the group back and runs it again with a lookup per request. SQLite has
// one writer, so no record can appear between the attempt's Flush and its commit; a retry
// happens once on either path, and after a restart (the record is durable with its change).
#ifndef DORSET_RUNTIME_STORAGE_IDEMPOTENCY_H_
#define DORSET_RUNTIME_STORAGE_IDEMPOTENCY_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "runtime/storage/database.h"
#include "runtime/storage/multi_row.h"
#include "runtime/storage/request_log.h"

namespace dorset::runtime::storage {

// Statements of IN lists of 64 >> i ids (i < 7), each prepared on its first use.
using InListStatements = std::array<std::optional<Statement>, 7>;

// The table each service's migrations create, the same on both engines (docs/storage.md):
//   idempotency_record (request_id TEXT PRIMARY KEY, method TEXT NOT NULL, principal TEXT NOT
//     NULL, request_hash TEXT NOT NULL, reply BLOB/BYTEA NOT NULL, create_micros INTEGER/BIGINT
//     NOT NULL)   -- SQLite WITHOUT ROWID; PostgreSQL request_id COLLATE "C"
// On SQLite new records are appended to idempotency_log (the same columns after `seq INTEGER
// PRIMARY KEY AUTOINCREMENT`) and merged into idempotency_record in batches (request_log.h);
// the view idempotency_records reads every record on either engine.

struct RequestKey {
  std::string request_id;  // empty: the caller asked for no idempotency (Find/Store do nothing)
  std::string method;      // e.g. "CreateResponse"
  std::string principal;   // the authenticated caller
  std::string request_hash;
};

// What a record with deferred lookups returns from Flush when a request it took for new has a
// record already: the transaction must fail and run again with lookups (GroupCommitter does).
absl::Status RequestSeenAgain();
bool IsRequestSeenAgain(const absl::Status& status);

// Lives inside one write transaction (its statements are prepared there).
class IdempotencyRecord {
 public:
  // kDeferred: lookups deferred to Flush when the transaction allows it (above); such a record
  // must be flushed after its last Find, before the commit. kFirst: Find reads the table.
  enum class Lookups { kFirst, kDeferred };
  static absl::StatusOr<IdempotencyRecord> Prepare(Transaction& tx,
                                                   Lookups lookups = Lookups::kFirst);

  // The reply stored for key.request_id, nullopt when there is none (or the id is empty);
  // REQUEST_ID_REUSED when it was stored for another method, principal or request hash.
  absl::StatusOr<std::optional<std::string>> Find(const RequestKey& key);
  // Reads the records of `request_ids` (empty ids skipped) with a few statements (SQLite: IN
  // lists of 64, 32, ..., 1 ids; PostgreSQL: one statement, the ids bound as an array) and
  // keeps them: Find then answers those ids from memory, without a
  // statement each (issue 16: on PostgreSQL each Find was a round trip, once per call of a
  // group). Records stored later in the transaction (Store, Flush) replace what was read.
  absl::Status Prefetch(std::span<const std::string> request_ids);
  // As Prefetch, but on PostgreSQL the read is sent ahead (Statement::SendAhead): it shares the
  // round trip of the statements read with it (BEGIN's, the data version's), and its rows are
  // taken by the record's next Find, Prefetch, Store or Flush, which return its failure.
  absl::Status SendPrefetch(std::span<const std::string> request_ids);
  // Records the reply (bytes: a serialized reply, or what the service rebuilds it from). Call
  // after Find said nullopt, in the same transaction. Does nothing for an empty id.
  absl::Status Store(const RequestKey& key, std::string_view reply, int64_t now_micros);
  // As Store, but the record is written by Flush (which must run before the transaction
  // commits). Only for a record whose change cannot be undone alone afterwards (no savepoint
  // rolled back after it): a kept record is not taken back. Does nothing for an empty id.
  // A `key` given as an lvalue is kept by reference, not copied (issue 16: four strings a call
  // on the group writer): it must stay alive and unchanged until Flush (a group commit's job
  // holds it). One given as an rvalue is moved in and kept here.
  void StoreLater(const RequestKey& key, std::string reply, int64_t now_micros);
  void StoreLater(RequestKey&& key, std::string reply, int64_t now_micros);
  // Writes the records StoreLater kept, in the order kept.
  absl::Status Flush() { return Write(/*send=*/false); }
  // As Flush, but on PostgreSQL the INSERT is sent without waiting for its result
  // (MultiRowStatements::Send): it goes in the round trip of the transaction's next statement
  // or commit, which returns its failure.
  absl::Status SendFlush() { return Write(/*send=*/true); }

 private:
  struct Kept {
    const RequestKey* key;  // the caller's, or one of owned_keys_
    std::string reply;
    int64_t now_micros;
  };
  absl::Status Write(bool send);
  // The rows of a read sent ahead (SendPrefetch), into fetched_; nothing when none was.
  absl::Status TakePrefetched();
  absl::Status Take(Statement& fetch);
  // Deferred lookups: fails with RequestSeenAgain when a request taken for new and not kept has
  // a record.
  absl::Status CheckUnlooked();
  IdempotencyRecord(Transaction& tx, Statement find, Statement store, bool deferred)
      : tx_(&tx),
        log_(tx.request_log_index()),
        find_(std::move(find)),
        store_(std::move(store)),
        deferred_(deferred) {}
  // SQLite: fails with StoredAlready() when the request log or idempotency_record holds any of
  // `ids` (the table read with one IN list per 64 ids, as Prefetch reads).
  absl::Status CheckNoneStored(std::span<const std::string* const> ids);
  // What a write of an id stored already fails with.
  absl::Status StoredAlready() const;
  // Find's answer for a stored record (method, principal, hash, reply).
  static absl::StatusOr<std::optional<std::string>> Match(const RequestKey& key,
                                                          std::string_view method,
                                                          std::string_view principal,
                                                          std::string_view hash, std::string reply);
  using Stored = StoredRequest;
  Transaction* tx_;
  // SQLite's request log index (new records go to the log); null on PostgreSQL.
  RequestLogIndex* log_;
  Statement find_;
  Statement store_;
  // Lookups deferred to Flush (above), and the ids Find took for new without a lookup since.
  bool deferred_;
  std::vector<std::string> unlooked_;
  std::vector<Kept> kept_;
  // The keys StoreLater was given as rvalues (each on its own: kept_ points at them).
  std::vector<std::unique_ptr<RequestKey>> owned_keys_;
  // request_id (a view of the kept key's) -> kept_ index
  absl::flat_hash_map<std::string_view, size_t> kept_index_;
  // The ids Prefetch read: their record, or nullopt when none is stored.
  absl::flat_hash_map<std::string, std::optional<Stored>> fetched_;
  // Prefetch's IN lists of 64 >> i ids (i < 7); on PostgreSQL [0] is its one unnest statement.
  InListStatements fetch_;
  // CheckNoneStored's IN lists of 64 >> i ids.
  InListStatements check_;
  std::vector<std::string> ahead_ids_;         // the ids SendPrefetch sent ahead, until taken
  std::optional<MultiRowStatements> inserts_;  // Flush's, prepared on its first use
};

}  // namespace dorset::runtime::storage

#endif  // DORSET_RUNTIME_STORAGE_IDEMPOTENCY_H_
