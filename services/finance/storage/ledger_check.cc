// The ledger's checks of a batch (LedgerWriter::Check, ledger.h): a request_id seen before
// (its first reply read back), schemes and their states, reversals, closed months, and totals
// that must stay within kMaxTotalPence. Reads only: a batch refused here has written nothing.
#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "runtime/api/enum_names.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "services/finance/calendar.h"
#include "services/finance/limits.h"
#include "services/finance/money/money.h"
#include "services/finance/storage/ledger.h"
#include "services/finance/storage/ledger_statements.h"
#include "services/finance/storage/periods.h"
#include "services/finance/storage/schema.h"

namespace dorset::finance {

absl::StatusOr<std::vector<v1::Posting>> LedgerWriter::Replay(const std::string& reply) {
  // The record (runtime/storage/idempotency.h) already held the one rule: same method,
  // principal and content hash (finance's canonical form of the postings, posting_input.cc).
  const std::vector<std::string> parts = absl::StrSplit(reply, ':');
  int64_t first = 0, count = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &first) ||
      !absl::SimpleAtoi(parts[1], &count) || count < 0) {
    return runtime::Internal("ledger: a stored request record is malformed");
  }
  ASSIGN_OR_RETURN(Statement * range, s_->read_range.Get(*s_->tx));
  Statement& read = *range;
  read.Reset();
  read.Bind(1, first).Bind(2, first + count - 1);
  std::vector<v1::Posting> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, read.Step());
    if (!row) break;
    out.push_back(ReadPosting(read));
  }
  read.Reset();
  if (static_cast<int64_t>(out.size()) != count) {
    return runtime::Internal("ledger: a request's postings are missing");
  }
  return out;
}

absl::StatusOr<int> LedgerWriter::PeriodStateOf(int year, int month) {
  auto known = s_->periods.find({year, month});
  if (known != s_->periods.end()) return known->second;
  ASSIGN_OR_RETURN(Statement * read, s_->period_state.Get(*s_->tx));
  ASSIGN_OR_RETURN(int state, ReadPeriodState(*read, year, month));
  s_->periods.emplace(std::make_pair(year, month), state);
  return state;
}

absl::StatusOr<LedgerWriter::Checked> LedgerWriter::Check(const PostingBatch& batch) {
  Checked checked;
  {
    ASSIGN_OR_RETURN(std::optional<std::string> reply, s_->record.Find(KeyOf(batch)));
    if (reply) {
      RETURN_IF_ERROR(InsertKept());  // the first call may be in this group, not inserted yet
      ASSIGN_OR_RETURN(checked.replay, Replay(*reply));
      return checked;
    }
  }

  absl::flat_hash_set<int64_t> reversed_here;
  for (const PostingInput& in : batch.postings) {
    Row& row = checked.rows.emplace_back();
    row.input = &in;
    row.scheme_name = in.scheme;
    row.year = in.year;
    row.month = in.month;
    row.kind = in.kind;
    row.amount = in.amount;
    int state = 0;
    const std::string amount_field =
        absl::StrCat(in.field, in.reverses              ? ".reverses"
                               : in.amount_from_decimal ? ".amount_decimal"
                                                        : ".amount");
    if (in.reverses) {
      RETURN_IF_ERROR(InsertKept());  // the original or a reversal may be in this group
      const std::string original = absl::StrCat("postings/", *in.reverses);
      ASSIGN_OR_RETURN(Statement * original_stmt, s_->find_original.Get(*s_->tx));
      Statement& find = *original_stmt;
      find.Reset();
      find.Bind(1, *in.reverses);
      ASSIGN_OR_RETURN(bool found, find.Step());
      if (!found) return runtime::NotFound("Posting", original);
      row.scheme_id = find.Int(0);
      row.year = static_cast<int>(find.Int(1));
      row.month = static_cast<int>(find.Int(2));
      row.kind = static_cast<int>(find.Int(3));
      const int64_t original_amount = find.Int(4);
      const bool is_reversal = !find.IsNull(5);
      row.scheme_name = find.Text(6);
      state = static_cast<int>(find.Int(7));
      find.Reset();
      if (is_reversal) {
        return runtime::FailedPrecondition("REVERSAL", original,
                                           "a reversal cannot itself be reversed");
      }
      ASSIGN_OR_RETURN(Statement * reversal_stmt, s_->find_reversal.Get(*s_->tx));
      Statement& again = *reversal_stmt;
      again.Reset();
      again.Bind(1, *in.reverses);
      ASSIGN_OR_RETURN(bool already, again.Step());
      again.Reset();
      if (already || !reversed_here.insert(*in.reverses).second) {
        return runtime::FailedPrecondition("REVERSAL", original, "already reversed");
      }
      // A reversal is not held to kMaxPostingPence: it mirrors a posting already accepted
      // (possibly before the bound existed), and the total check below lets it through when
      // it brings the total back toward zero.
      absl::StatusOr<int64_t> negated = money::CheckedNeg(original_amount);
      if (!negated.ok()) {
        return AmountLimitExceeded(amount_field, "the reversal does not fit in int64 pence");
      }
      row.amount = *negated;
    } else {
      auto scheme = s_->schemes.find(in.scheme);
      if (scheme == s_->schemes.end()) {
        LedgerScheme read;
        ASSIGN_OR_RETURN(Statement * scheme_stmt, s_->find_scheme.Get(*s_->tx));
        Statement& find = *scheme_stmt;
        find.Reset();
        find.Bind(1, in.scheme);
        ASSIGN_OR_RETURN(read.found, find.Step());
        if (read.found) {
          read.id = find.Int(0);
          read.kind = find.Int(1);
          read.state = static_cast<int>(find.Int(2));
        }
        find.Reset();
        scheme = s_->schemes.emplace(in.scheme, read).first;
      }
      if (!scheme->second.found || scheme->second.kind != kNodeScheme) {
        return runtime::NotFound("Scheme", in.scheme);
      }
      row.scheme_id = scheme->second.id;
      state = scheme->second.state;
    }
    if (state == kSchemeClosed) {
      return runtime::FailedPrecondition("STATE", row.scheme_name,
                                         "the scheme is closed to postings");
    }
    // Month-end close: a closed month takes no posting. A reversal of a posting in a closed
    // month is dated in the first month of its year that is not closed (months close in
    // order, so that is the current open month), and the closed month keeps its figures.
    ASSIGN_OR_RETURN(int period, PeriodStateOf(row.year, row.month));
    if (period == kPeriodClosed) {
      if (!in.reverses) {
        return runtime::FailedPrecondition(
            "PERIOD", PeriodName(row.year, row.month),
            absl::StrCat("the period ", FormatFinancialYear(row.year), " M", row.month,
                         " is closed to postings; correct it with a reversal, which is "
                         "posted in the current open month"));
      }
      int month = row.month;
      while (period == kPeriodClosed && month < 12) {
        ++month;
        ASSIGN_OR_RETURN(period, PeriodStateOf(row.year, month));
      }
      if (period == kPeriodClosed) {
        return runtime::FailedPrecondition(
            "PERIOD", PeriodName(row.year, 12),
            absl::StrCat("every month of ", FormatFinancialYear(row.year),
                         " is closed, so the reversal has no open month to go in"));
      }
      row.month = month;
    }

    // Keep every total exact: refuse a posting the total could not hold. Totals touched twice
    // in one batch accumulate here before anything is written.
    const TotalKey key{row.scheme_id, row.year, row.month, row.kind};
    auto total = checked.totals.find(key);
    if (total == checked.totals.end()) {
      auto seen = s_->totals.find(key);
      if (seen == s_->totals.end()) {
        ASSIGN_OR_RETURN(Statement * total_stmt, s_->read_total.Get(*s_->tx));
        Statement& read = *total_stmt;
        read.Reset();
        read.Bind(1, row.scheme_id).Bind(2, row.year).Bind(3, row.month).Bind(4, row.kind);
        ASSIGN_OR_RETURN(bool has_total, read.Step());
        const int64_t current = has_total ? read.Int(0) : 0;
        read.Reset();
        seen = s_->totals.emplace(key, current).first;
      }
      total = checked.totals.emplace(key, seen->second).first;
    }
    // The running total is bounded, not just each posting: the number of postings is
    // unbounded, and limits.h proves the roll-ups safe only for bounded totals. A total
    // outside the bound (only possible in a store written before the bound) may still move
    // toward zero, so the postings that made it can be reversed.
    const __int128 before = total->second;
    const __int128 after = before + row.amount;  // cannot overflow 128 bits
    const auto magnitude = [](__int128 v) { return v < 0 ? -v : v; };
    if (magnitude(after) > kMaxTotalPence && magnitude(after) >= magnitude(before)) {
      return AmountLimitExceeded(
          amount_field,
          absl::StrCat("the scheme's ", FormatFinancialYear(row.year), " M", row.month, " ",
                       runtime::EnumShortName(static_cast<v1::PostingKind>(row.kind)),
                       " total would leave ±",
                       money::FormatPounds(kMaxTotalPence, {.symbol = true, .grouping = true})));
    }
    total->second = static_cast<int64_t>(after);
  }
  return checked;
}

}  // namespace dorset::finance
