// The ledger: applying a batch of postings inside the caller's transaction (idempotency by
// request_id, reversals, closed schemes, checked totals) and reading postings back.
//
// LedgerWriter prepares its statements in one write transaction and lives inside it (the group
// committer makes one per group). Posting ids are given by the ledger, not by the engine: the
// next after the highest, read in the writing transaction, so a request's postings are
// consecutive on both engines (a PostgreSQL sequence leaves gaps when a transaction retries).
#ifndef DORSET_SERVICES_FINANCE_STORAGE_LEDGER_H_
#define DORSET_SERVICES_FINANCE_STORAGE_LEDGER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "dorset/finance/v1/finance.pb.h"
#include "runtime/api/page_token.h"
#include "runtime/storage/idempotency.h"
#include "services/finance/posting_input.h"
#include "services/finance/storage/store.h"

namespace dorset::finance {

// What one posting group learnt of the ledger, kept for the next group (issue 16: at 1-2
// postings a group, as in the mixed workload, reading them again in every group cost about a
// tenth of a posting): the next posting id, each year's chain head, period states, schemes and
// totals. The posting committer keeps one, used by one group at a time.
//
// It holds only while the store's data version is still the one its group's commit made: every
// write transaction raises that version (FinanceStore::Write, the posting committer), so an
// equal version means nothing was written since, by this process or any other (another replica,
// a tool). On PostgreSQL a write committed after the group's snapshot also updates the version's
// row, so one of the two is rolled back (SERIALIZABLE). A group that fails, or whose commit is
// not known to have succeeded, leaves it unconfirmed and the next group reads afresh.
class LedgerMemo {
 public:
  // The group that last called LedgerWriter::Keep committed.
  void Confirm() { confirmed_ = version_.has_value(); }

 private:
  friend class LedgerWriter;
  struct State;
  std::optional<uint64_t> version_;  // the data version the kept state is as of
  bool confirmed_ = false;
  std::shared_ptr<State> state_;
  // The storage of the last writer's statements, for the next group's writer (issue 16: 1.3 KB
  // allocated afresh every group, a size that made glibc consolidate its fastbins each time).
  // Not an object: the writer destroys its statements inside its transaction.
  std::unique_ptr<std::byte[]> spare_;
};

class LedgerWriter {
 public:
  // With `memo` (the posting committer's), the ledger state kept by the group before is used
  // when the store has not changed since (LedgerMemo). On PostgreSQL the records of
  // `request_ids` (a group's calls) are read ahead, in the round trip of BEGIN and the data
  // version's read (issue 16), as PrefetchRequests reads them.
  static absl::StatusOr<std::unique_ptr<LedgerWriter>> Create(
      Transaction& tx, LedgerMemo* memo = nullptr, std::span<const std::string> request_ids = {});

  // Why the ledger is split in two: Check only reads, so a request it refuses has written
  // nothing and needs no savepoint to undo; Write only fails on storage errors, and then the
  // caller abandons the whole transaction. Both run in the caller's open transaction, and a
  // request checked must be written before the next one is checked.
  struct TotalKey {
    int64_t scheme_id;
    int year;
    int month;
    int kind;
    bool operator==(const TotalKey&) const = default;
    template <typename H>
    friend H AbslHashValue(H h, const TotalKey& k) {
      return H::combine(std::move(h), k.scheme_id, k.year, k.month, k.kind);
    }
  };
  struct Row {
    const PostingInput* input = nullptr;
    int64_t scheme_id = 0;
    std::string scheme_name;
    int year = 0, month = 0, kind = 0;
    int64_t amount = 0;
  };
  struct Checked {
    // Set when the request_id was seen before with the same content: the first result.
    std::optional<std::vector<v1::Posting>> replay;
    std::vector<Row> rows;
    absl::flat_hash_map<TotalKey, int64_t> totals;  // new value of every total touched
  };

  // On PostgreSQL, reads the request records of `request_ids` (a group's calls) with a few
  // statements, so Check does not ask for each (a round trip each; issue 16). On SQLite nothing:
  // a lookup there is a call into the library, and its write path is measured on its own.
  absl::Status PrefetchRequests(std::span<const std::string> request_ids);
  // Idempotency, schemes, reversals and checked totals; reads only. Refusals come back as
  // errors (NOT_FOUND, FAILED_PRECONDITION, ALREADY_EXISTS, OUT_OF_RANGE with the field).
  absl::StatusOr<Checked> Check(const PostingBatch& batch);
  // Writes the postings of a checked batch (`batch` must outlive `checked` and the next Flush);
  // its postings, chain links, totals and request record are kept in memory until Flush (Check
  // sees them at once) and written there with a few multi-row statements for the whole group. An
  // error here leaves partial writes: roll the transaction back.
  absl::StatusOr<std::vector<v1::Posting>> Write(const PostingBatch& batch, const Checked& checked);
  // Writes the postings and chain links of the batches written so far, every total they changed
  // (once each) and their request records (a few multi-row INSERTs); call before the commit.
  absl::Status Flush();
  // The total rows Flush wrote in this transaction, each once with its new amount.
  const std::vector<std::pair<TotalKey, int64_t>>& flushed_totals() const;
  // The data version this transaction started from (read when created with a memo; nullopt
  // without one): after FinanceStore::BumpDataVersion it commits this plus one.
  std::optional<uint64_t> start_version() const;
  // Check, Write, Flush.
  absl::StatusOr<std::vector<v1::Posting>> Apply(const PostingBatch& batch);
  // Keeps what this writer learnt in the memo it was created with, for the next group: call last
  // in the transaction, after Flush and the data version's bump (FinanceStore::BumpDataVersion),
  // and LedgerMemo::Confirm once it committed.
  void Keep();
  ~LedgerWriter();

 private:
  struct Statements;
  explicit LedgerWriter(Statements* statements) : s_(statements) {}

  // A month's period state (kPeriodOpen/Closing/Closed), read once per transaction.
  absl::StatusOr<int> PeriodStateOf(int year, int month);
  // Inserts the postings Write kept (and their chain links): before the transaction reads the
  // posting table, and at Flush.
  absl::Status InsertKept();
  // The first call's postings from its stored reply.
  absl::StatusOr<std::vector<v1::Posting>> Replay(const std::string& reply);

  // Made in storage of its own, or the memo's spare (Create); destroyed by ~LedgerWriter, which
  // gives the storage back to the memo.
  Statements* s_;
};

// Reads postings (each call one read transaction; ledger_reader.cc).
class LedgerReader {
 public:
  LedgerReader(FinanceStore& store, runtime::PageTokenCodec codec)
      : store_(store), codec_(std::move(codec)) {}
  absl::StatusOr<v1::Posting> Get(const std::string& name);
  absl::StatusOr<v1::ListPostingsResponse> List(const v1::ListPostingsRequest& request);

 private:
  FinanceStore& store_;
  const runtime::PageTokenCodec codec_;
};

// SELECT columns that ReadPosting understands (alias p = posting, n = its scheme node).
extern const char kPostingColumns[];
extern const char kPostingJoins[];
v1::Posting ReadPosting(const runtime::storage::Statement& stmt);

}  // namespace dorset::finance

#endif  // DORSET_SERVICES_FINANCE_STORAGE_LEDGER_H_
