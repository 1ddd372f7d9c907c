// The ledger's hash chain in the store (docs/finance.md "Tamper-evident ledger"): each posting's
// link (posting_chain: the hash of the posting before it in its financial year, and its own),
// written in the posting's transaction; the links of postings from before the chain existed
// (BackfillChain); and the year's head, which a month's close seals.
#ifndef DORSET_SERVICES_FINANCE_STORAGE_CHAIN_H_
#define DORSET_SERVICES_FINANCE_STORAGE_CHAIN_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "runtime/storage/multi_row.h"
#include "services/finance/ledger_chain.h"
#include "services/finance/storage/store.h"

namespace dorset::finance {

// Where a year's chain ends: its last posting (0 when none), that posting's hash (the genesis
// hash when none) and how many postings the year holds.
struct ChainHead {
  int64_t posting_id = 0;
  std::string hash;
  int64_t count = 0;
};

// Adds the links of every posting that has none, in id order (postings written before the
// chain existed: migration step 3 adds the table, this fills it at the first write after).
// Cheap when there is nothing to do (two index lookups).
absl::Status BackfillChain(Transaction& tx);

absl::StatusOr<ChainHead> ReadChainHead(Transaction& tx, int year);

// Appends links inside one write transaction (the ledger makes one per group). Each year's
// previous hash is read once and then followed in memory.
class ChainWriter {
 public:
  static absl::StatusOr<ChainWriter> Create(Transaction& tx);
  // Links `posting` (already inserted, with the same id) to its year's chain.
  absl::Status Append(const ChainedPosting& posting);
  // As Append, but the link is kept and written by Flush (a few multi-row INSERTs for a group's
  // postings instead of one statement each; issue 16). `posting` must be inserted by then.
  absl::Status AppendLater(const ChainedPosting& posting);
  // Writes the links AppendLater kept, in order; on PostgreSQL sent without waiting
  // (MultiRowStatements::Send): the transaction's next statement or commit returns a failure.
  absl::Status Flush();
  // Each year's head as far as this writer followed it (year -> hash of its last posting), for
  // a later transaction that knows nothing was written since (LedgerMemo), and back.
  absl::flat_hash_map<int, std::string> TakeHeads() { return std::move(head_); }
  void AdoptHeads(absl::flat_hash_map<int, std::string> heads) { head_ = std::move(heads); }

 private:
  struct Link {
    int64_t posting_id;
    int year;
    std::string prev_hash;
    std::string hash;
  };
  explicit ChainWriter(Transaction& tx) : tx_(&tx) {}
  // The posting's link, its year's head moved on to it.
  absl::StatusOr<Link> Next(const ChainedPosting& posting);

  Transaction* tx_;
  // Prepared on first use (a year's head not yet known; Append).
  std::optional<runtime::storage::Statement> last_;
  std::optional<runtime::storage::Statement> insert_;
  absl::flat_hash_map<int, std::string> head_;  // year -> hash of its last posting
  std::vector<Link> kept_;
  std::optional<runtime::storage::MultiRowStatements> inserts_;  // Flush's, made on first use
};

// SELECT columns ReadChained understands, over posting p, node n (LEFT JOIN: a removed scheme
// still verifies as a mismatch, not an error) and posting_chain c (LEFT JOIN: a missing link is
// a finding).
extern const char kChainedColumns[];
extern const char kChainedJoins[];
struct ChainedRow {
  ChainedPosting posting;
  bool has_link = false;
  std::string prev_hash;
  std::string hash;
};
ChainedRow ReadChained(const runtime::storage::Statement& stmt);

}  // namespace dorset::finance

#endif  // DORSET_SERVICES_FINANCE_STORAGE_CHAIN_H_
