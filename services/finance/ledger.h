// The ledger: applying a batch of postings inside the caller's transaction (idempotency by
// request_id, reversals, closed schemes, checked totals) and reading postings back.
//
// LedgerWriter keeps its prepared statements on the writer connection, so it must only be
// used while holding the store's write lock (the group committer does).
#ifndef DORSET_SERVICES_FINANCE_LEDGER_H_
#define DORSET_SERVICES_FINANCE_LEDGER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dorset/finance/v1/finance.pb.h"
#include "runtime/api/page_token.h"
#include "runtime/sqlite/database.h"
#include "services/finance/posting_input.h"
#include "services/finance/store.h"

namespace dorset::finance {

class LedgerWriter {
 public:
  static absl::StatusOr<std::unique_ptr<LedgerWriter>> Create(runtime::sqlite::Database& db);

  // Applies `batch` in the open transaction: either all its postings (and the matching total
  // updates and the request record) are written, or an error is returned and the caller rolls
  // back to its savepoint. A request_id seen before returns the postings it made then.
  absl::StatusOr<std::vector<v1::Posting>> Apply(const PostingBatch& batch);
  ~LedgerWriter();

 private:
  struct Statements;
  LedgerWriter(runtime::sqlite::Database& db, std::unique_ptr<Statements> statements);

  absl::StatusOr<std::vector<v1::Posting>> Replay(const PostingBatch& batch,
                                                  const std::string& stored_hash, int64_t first,
                                                  int64_t count);

  runtime::sqlite::Database& db_;
  std::unique_ptr<Statements> s_;
};

// Reads postings (on a reader connection).
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
v1::Posting ReadPosting(const runtime::sqlite::Statement& stmt);

}  // namespace dorset::finance

#endif  // DORSET_SERVICES_FINANCE_LEDGER_H_
