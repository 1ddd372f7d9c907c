// What a LedgerWriter (ledger.h) holds inside its write transaction, shared by the files that
// implement it: ledger.cc (making a writer, the memo kept between groups), ledger_check.cc
// (Check) and ledger_write.cc (Write, Flush). The statements are prepared on first use; the
// rest is what the transaction read (schemes, periods, totals, the next posting id) and the
// postings kept until Flush. Internal to the ledger:
//   ASSIGN_OR_RETURN(Statement * find, s_->find_scheme.Get(*s_->tx));
#ifndef DORSET_SERVICES_FINANCE_STORAGE_LEDGER_STATEMENTS_H_
#define DORSET_SERVICES_FINANCE_STORAGE_LEDGER_STATEMENTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/idempotency.h"
#include "runtime/storage/multi_row.h"
#include "services/finance/storage/chain.h"
#include "services/finance/storage/ledger.h"
#include "services/finance/storage/periods.h"

namespace dorset::finance {

using runtime::storage::Statement;

// The idempotency record's method for CreatePosting and BatchCreatePostings alike: both are one
// ledger request, and their ids share one namespace (a CreatePosting retried as a one-posting
// batch is the same request).
inline constexpr char kPostingMethod[] = "CreatePostings";

inline runtime::storage::RequestKey KeyOf(const PostingBatch& batch) {
  return {.request_id = batch.request_id,
          .method = kPostingMethod,
          .principal = batch.principal,
          .request_hash = batch.content_hash};
}

// The writer's lookups, prepared on first use: a group whose ledger state was kept from the
// group before (LedgerMemo) needs none of them.
class LazyStatement {
 public:
  explicit LazyStatement(const char* sql) : sql_(sql) {}
  absl::StatusOr<Statement*> Get(Transaction& tx) {
    if (!statement_) {
      ASSIGN_OR_RETURN(Statement prepared, tx.Prepare(sql_));
      statement_.emplace(std::move(prepared));
    }
    return &*statement_;
  }

 private:
  const char* sql_;
  std::optional<Statement> statement_;
};

inline const std::string& ReadRangeSql() {
  static const std::string sql = absl::StrCat("SELECT ", kPostingColumns, " FROM ", kPostingJoins,
                                              " WHERE p.id BETWEEN ? AND ? ORDER BY p.id");
  return sql;
}

// Schemes looked up (id, kind, state): schemes change only in transactions of their own, so a
// group asks the store once per scheme.
struct LedgerScheme {
  bool found = false;
  int64_t id = 0;
  int64_t kind = 0;
  int state = 0;
};

struct LedgerWriter::Statements {
  Statements(Transaction& t, runtime::storage::IdempotencyRecord r, ChainWriter c)
      : tx(&t), record(std::move(r)), chain(std::move(c)) {}
  Transaction* tx;  // the write transaction the writer lives in
  runtime::storage::IdempotencyRecord record;
  ChainWriter chain;
  LazyStatement find_scheme{"SELECT id, kind, state FROM node WHERE name = ?"};
  LazyStatement find_original{
      "SELECT p.scheme_id, p.year, p.month, p.kind, p.amount_pence, p.reverses, n.name, n.state "
      "FROM posting p JOIN node n ON n.id = p.scheme_id WHERE p.id = ?"};
  LazyStatement find_reversal{"SELECT id FROM posting WHERE reverses = ?"};
  LazyStatement read_total{
      "SELECT amount_pence FROM total WHERE scheme_id = ? AND year = ? AND month = ? AND kind = ?"};
  LazyStatement write_total{
      "INSERT INTO total(scheme_id, year, month, kind, amount_pence) VALUES (?, ?, ?, ?, ?) ON "
      "CONFLICT (scheme_id, year, month, kind) DO UPDATE SET amount_pence = excluded.amount_pence"};
  LazyStatement read_range{ReadRangeSql().c_str()};
  LazyStatement last_posting{"SELECT COALESCE(MAX(id), 0) FROM posting"};
  LazyStatement period_state{kPeriodStateSql};
  // The memo this writer was made with (nullptr: none) and the data version it read.
  LedgerMemo* memo = nullptr;
  uint64_t version = 0;
  // Period states read in this transaction (a close is its own transaction, so they hold).
  absl::flat_hash_map<std::pair<int, int>, int> periods;
  // The totals as this transaction sees them (read once, then followed in memory) and those
  // its requests changed, written once per transaction by Flush: a group of postings to
  // one scheme's month updates its total row once, not once per posting.
  absl::flat_hash_map<TotalKey, int64_t> totals;
  absl::flat_hash_set<TotalKey> dirty;
  std::vector<std::pair<TotalKey, int64_t>> flushed;  // written by Flush, with their amounts
  // The next posting id, read once per transaction (only this writer appends in it).
  std::optional<int64_t> next_id;
  absl::flat_hash_map<std::string, LedgerScheme> schemes;
  // Postings written but not yet inserted: Flush (or a read of the posting table in this
  // transaction) inserts them with a few multi-row INSERTs, then their chain links (issue 16:
  // on PostgreSQL a statement per posting cost a round trip and an executor start each).
  struct Kept {
    int64_t id;
    int64_t scheme_id;
    int year, month, kind;
    int64_t amount;
    const std::string* principal;
    int64_t create_micros;
    const std::string* reason;
    const std::string* request_id;
    std::optional<int64_t> reverses;
  };
  std::vector<Kept> kept;
  // The posting table's multi-row INSERTs, made on the transaction's first InsertKept.
  std::optional<runtime::storage::MultiRowStatements> inserts;
};

}  // namespace dorset::finance

#endif  // DORSET_SERVICES_FINANCE_STORAGE_LEDGER_STATEMENTS_H_
