// The ledger's writes (LedgerWriter::Write and Flush, ledger.h): a checked batch's postings take
// the next ids and are kept in memory with their chain links and request record, then written
// for the whole group with a few multi-row statements, with every total it changed once.
#include "absl/strings/str_cat.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/multi_row.h"
#include "services/finance/calendar.h"
#include "services/finance/storage/chain.h"
#include "services/finance/storage/ledger.h"
#include "services/finance/storage/ledger_statements.h"
#include "services/finance/time_util.h"

namespace dorset::finance {
namespace {

// The stored reply is the request's posting range "<first id>:<count>": postings are immutable
// and consecutive, so the reply is read back from them (with any later reversal named).
std::string EncodeRange(int64_t first, int64_t count) { return absl::StrCat(first, ":", count); }

}  // namespace

absl::StatusOr<std::vector<v1::Posting>> LedgerWriter::Write(const PostingBatch& batch,
                                                             const Checked& checked) {
  if (checked.replay) return *checked.replay;
  const int64_t now = NowMicros();
  // Written to the store by Flush, once per transaction.
  for (const auto& [key, amount] : checked.totals) {
    s_->totals[key] = amount;
    s_->dirty.insert(key);
  }
  // The ledger's own sequence: the request's postings take the ids after the highest so far.
  if (!s_->next_id) {
    ASSIGN_OR_RETURN(Statement * last_stmt, s_->last_posting.Get(*s_->tx));
    Statement& last = *last_stmt;
    last.Reset();
    ASSIGN_OR_RETURN(bool has_last, last.Step());
    if (!has_last) return runtime::Internal("ledger: no highest posting id");
    s_->next_id = last.Int(0) + 1;
    last.Reset();
  }
  const int64_t first_id = *s_->next_id;
  *s_->next_id += static_cast<int64_t>(checked.rows.size());
  std::vector<v1::Posting> out;
  out.reserve(checked.rows.size());
  for (const Row& row : checked.rows) {
    const int64_t id = first_id + static_cast<int64_t>(out.size());
    // Inserted by InsertKept (`batch` outlives the transaction's writes: see Write's contract).
    s_->kept.push_back(Statements::Kept{.id = id,
                                        .scheme_id = row.scheme_id,
                                        .year = row.year,
                                        .month = row.month,
                                        .kind = row.kind,
                                        .amount = row.amount,
                                        .principal = &batch.principal,
                                        .create_micros = now,
                                        .reason = &row.input->reason,
                                        .request_id = &batch.request_id,
                                        .reverses = row.input->reverses});
    RETURN_IF_ERROR(s_->chain.AppendLater(ChainedPosting{.id = id,
                                                         .year = row.year,
                                                         .month = row.month,
                                                         .kind = row.kind,
                                                         .scheme = row.scheme_name,
                                                         .amount = row.amount,
                                                         .principal = batch.principal,
                                                         .create_micros = now,
                                                         .reason = row.input->reason,
                                                         .request_id = batch.request_id,
                                                         .reverses = row.input->reverses}));
    v1::Posting& posting = out.emplace_back();
    posting.set_name(absl::StrCat("postings/", id));
    posting.set_scheme(row.scheme_name);
    posting.set_financial_year(FormatFinancialYear(row.year));
    posting.set_month(row.month);
    posting.set_kind(static_cast<v1::PostingKind>(row.kind));
    posting.mutable_amount()->set_pence(row.amount);
    posting.set_reason(row.input->reason);
    if (row.input->reverses) posting.set_reverses(absl::StrCat("postings/", *row.input->reverses));
    posting.set_principal(batch.principal);
    SetTimestamp(posting.mutable_create_time(), now);
    posting.set_request_id(batch.request_id);
  }
  // Written by Flush with the group's other records (one statement for many); Check sees it.
  s_->record.StoreLater(KeyOf(batch), EncodeRange(first_id, static_cast<int64_t>(out.size())), now);
  return out;
}

absl::Status LedgerWriter::InsertKept() {
  if (s_->kept.empty()) return absl::OkStatus();
  static const runtime::storage::MultiRowInsert kInsert(
      "INSERT INTO posting(id, scheme_id, year, month, kind, amount_pence, principal, "
      "create_micros, reason, request_id, reverses) VALUES ",
      11, "",
      {"bigint", "bigint", "bigint", "bigint", "bigint", "bigint", "text", "bigint", "text", "text",
       "bigint"});
  if (!s_->inserts.has_value()) s_->inserts.emplace(kInsert, *s_->tx);
  // The texts are bound without a copy: the kept rows' strings outlive the statement's run. Sent
  // without waiting (PostgreSQL), as are the chain links, the request records and the totals
  // below: they go in one round trip with the group's next statement or its commit, which
  // return their failure (issue 16, bench/README.md "Session 23").
  absl::Status inserted =
      s_->inserts->Send(s_->kept.size(), [this](Statement& insert, size_t row, int first) {
        const Statements::Kept& k = s_->kept[row];
        insert.Bind(first, k.id)
            .Bind(first + 1, k.scheme_id)
            .Bind(first + 2, k.year)
            .Bind(first + 3, k.month)
            .Bind(first + 4, k.kind)
            .Bind(first + 5, k.amount)
            .BindKept(first + 6, *k.principal)
            .Bind(first + 7, k.create_micros)
            .BindKept(first + 8, *k.reason)
            .BindKept(first + 9, *k.request_id)
            .Bind(first + 10, k.reverses);
      });
  s_->kept.clear();
  RETURN_IF_ERROR(inserted);
  // The links after their postings (posting_chain's key references posting).
  return s_->chain.Flush();
}

absl::Status LedgerWriter::Flush() {
  RETURN_IF_ERROR(InsertKept());
  RETURN_IF_ERROR(s_->record.SendFlush());
  for (const TotalKey& key : s_->dirty) {
    ASSIGN_OR_RETURN(Statement * write_stmt, s_->write_total.Get(*s_->tx));
    Statement& write = *write_stmt;
    write.Reset();
    write.Bind(1, key.scheme_id).Bind(2, key.year).Bind(3, key.month).Bind(4, key.kind);
    const int64_t amount = s_->totals.at(key);
    write.Bind(5, amount);
    RETURN_IF_ERROR(write.Send());
    s_->flushed.emplace_back(key, amount);
  }
  s_->dirty.clear();
  return absl::OkStatus();
}

}  // namespace dorset::finance
