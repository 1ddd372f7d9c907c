#include "services/finance/storage/verify.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "runtime/auth/token_store.h"
#include "runtime/status/status_macros.h"
#include "services/finance/calendar.h"
#include "services/finance/ledger_chain.h"
#include "services/finance/storage/chain.h"
#include "services/finance/storage/periods.h"

namespace dorset::finance {

using runtime::storage::Statement;

namespace {

struct Seal {
  int64_t id = 0;
  SealContent content;
  std::string signature;
};

std::string PostingName(int64_t id) { return absl::StrCat("postings/", id); }

absl::StatusOr<std::vector<int>> YearsHeld(Transaction& tx) {
  ASSIGN_OR_RETURN(Statement stmt,
                   tx.Prepare("SELECT DISTINCT year FROM posting UNION SELECT DISTINCT year FROM "
                              "period_seal UNION SELECT DISTINCT year FROM period ORDER BY 1"));
  std::vector<int> years;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    years.push_back(static_cast<int>(stmt.Int(0)));
  }
  return years;
}

absl::StatusOr<std::vector<Seal>> ReadSeals(Transaction& tx, int year) {
  ASSIGN_OR_RETURN(Statement stmt,
                   tx.Prepare("SELECT id, month, action, head_posting_id, head_hash, "
                              "posting_count, snapshot_digest, principal, reason, create_micros, "
                              "signature FROM period_seal WHERE year = ? ORDER BY id"));
  stmt.Bind(1, year);
  std::vector<Seal> seals;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    Seal& seal = seals.emplace_back();
    seal.id = stmt.Int(0);
    seal.content = SealContent{.year = year,
                               .month = static_cast<int>(stmt.Int(1)),
                               .action = stmt.Text(2),
                               .head_posting_id = stmt.Int(3),
                               .head_hash = stmt.Text(4),
                               .posting_count = stmt.Int(5),
                               .snapshot_digest = stmt.Text(6),
                               .principal = stmt.Text(7),
                               .reason = stmt.Text(8),
                               .create_micros = stmt.Int(9)};
    seal.signature = stmt.Text(10);
  }
  return seals;
}

// The digest a close signs over its stored reports (as MonthClose::Close computes it).
absl::StatusOr<std::string> SnapshotDigest(Transaction& tx, int64_t seal_id) {
  ASSIGN_OR_RETURN(Statement stmt, tx.Prepare("SELECT plan, report FROM closed_report WHERE "
                                              "seal_id = ? ORDER BY plan"));
  stmt.Bind(1, seal_id);
  std::string input = "dorset.finance.closed_reports.v1;";
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    const std::string plan = stmt.Text(0);
    const std::string bytes = stmt.Blob(1);
    absl::StrAppend(&input, plan.size(), ":", plan, ";", bytes.size(), ":", bytes, ";");
  }
  return runtime::Sha256Hex(input);
}

absl::Status VerifyYear(Transaction& tx, std::string_view key, int year, LedgerVerification& out) {
  ASSIGN_OR_RETURN(std::vector<Seal> seals, ReadSeals(tx, year));
  // What the recomputed chain gives at each sealed head: its hash and the count up to it.
  struct AtHead {
    std::string hash;
    int64_t count = 0;
    bool seen = false;
  };
  absl::flat_hash_map<int64_t, AtHead> at_head;
  for (const Seal& seal : seals) at_head[seal.content.head_posting_id];
  at_head[0] = AtHead{GenesisHash(year), 0, true};

  ASSIGN_OR_RETURN(Statement rows,
                   tx.Prepare(absl::StrCat("SELECT ", kChainedColumns, " FROM ", kChainedJoins,
                                           " WHERE p.year = ? ORDER BY p.id")));
  rows.Bind(1, year);
  std::string prev = GenesisHash(year);
  int64_t count = 0;
  bool chain_reported = false;
  int64_t chain_mismatch = 0;  // the first posting the chain check found changed
  bool closed_reported = false;
  std::array<bool, 13> closed{};  // as the signed closes and reopens say, replayed in order
  size_t next_event = 0;
  std::vector<int64_t> ids;  // the year's posting ids, to name the first of a range
  const auto apply_events_before = [&](int64_t posting_id) {
    while (next_event < seals.size() && seals[next_event].content.head_posting_id < posting_id) {
      const SealContent& c = seals[next_event].content;
      if (c.month >= 1 && c.month <= 12) closed[c.month] = c.action == "close";
      ++next_event;
    }
  };
  while (true) {
    ASSIGN_OR_RETURN(bool more, rows.Step());
    if (!more) break;
    const ChainedRow row = ReadChained(rows);
    const ChainedPosting& p = row.posting;
    ++count;
    ++out.postings_checked;
    ids.push_back(p.id);
    apply_events_before(p.id);
    const std::string hash = PostingHash(p, prev);
    if (!chain_reported) {
      if (!row.has_link) {
        out.findings.push_back({p.id, "", absl::StrCat(PostingName(p.id), " has no chain link")});
        chain_reported = true;
        chain_mismatch = p.id;
      } else if (row.prev_hash != prev || row.hash != hash) {
        out.findings.push_back(
            {p.id, "",
             absl::StrCat(PostingName(p.id),
                          row.prev_hash != prev
                              ? " does not link to the posting before it in its year's chain "
                                "(a posting before it was removed or its link was edited)"
                              : " does not match its chain hash (the posting was edited)")});
        chain_reported = true;
        chain_mismatch = p.id;
      }
    }
    if (!closed_reported && p.month >= 1 && p.month <= 12 && closed[p.month]) {
      out.findings.push_back(
          {p.id, PeriodName(year, p.month),
           absl::StrCat(PostingName(p.id), " is dated in ", FormatFinancialYear(year), " M",
                        p.month, ", which was closed when it was written")});
      closed_reported = true;
    }
    prev = hash;
    if (auto it = at_head.find(p.id); it != at_head.end()) {
      it->second = AtHead{hash, count, true};
    }
  }
  rows.Reset();

  // Seals: signed by the key, and the chain recomputed from the postings reaches what each one
  // sealed. A row rewritten together with every later hash passes the chain check above but not
  // this one.
  int64_t last_good_head = 0;
  for (const Seal& seal : seals) {
    ++out.seals_checked;
    const SealContent& c = seal.content;
    const std::string period = PeriodName(year, c.month);
    if (!SignaturesEqual(seal.signature, SealSignature(key, c))) {
      out.findings.push_back(
          {c.head_posting_id, period,
           absl::StrCat("the ", c.action, " seal of ", FormatFinancialYear(year), " M", c.month,
                        " is not signed by the seal key (edited or forged)")});
      continue;
    }
    const AtHead& head = at_head[c.head_posting_id];
    if (!head.seen || head.hash != c.head_hash || head.count != c.posting_count) {
      // Name the first posting the seal no longer vouches for: the one after the last head that
      // still matched, or the first posting the chain itself found changed when that lies in
      // the seal's range (the more exact name).
      const auto first = std::upper_bound(ids.begin(), ids.end(), last_good_head);
      int64_t first_id = first == ids.end() ? c.head_posting_id : *first;
      if (chain_mismatch > first_id && chain_mismatch <= c.head_posting_id) {
        first_id = chain_mismatch;
      }
      out.findings.push_back(
          {first_id, period,
           absl::StrCat("the postings from ", PostingName(first_id), " to ",
                        PostingName(c.head_posting_id), " no longer match the ", c.action,
                        " seal of ", FormatFinancialYear(year), " M", c.month,
                        !head.seen ? " (its head posting is missing)"
                        : head.count != c.posting_count
                            ? " (postings were added or removed before its head)"
                            : " (a posting was rewritten with every later hash)")});
      continue;
    }
    last_good_head = std::max(last_good_head, c.head_posting_id);
    if (c.action == "close") {
      ASSIGN_OR_RETURN(std::string digest, SnapshotDigest(tx, seal.id));
      if (digest != c.snapshot_digest) {
        out.findings.push_back(
            {0, period,
             absl::StrCat("the reports stored at the close of ", FormatFinancialYear(year), " M",
                          c.month, " no longer match its seal")});
      }
    }
  }

  // The running totals the reports read agree with the postings (an edited total would change
  // a report without touching the chain).
  {
    std::map<std::tuple<int64_t, int64_t, int64_t>, std::pair<int64_t, int64_t>> sums;
    ASSIGN_OR_RETURN(Statement ledger,
                     tx.Prepare("SELECT scheme_id, month, kind, SUM(amount_pence) FROM posting "
                                "WHERE year = ? GROUP BY scheme_id, month, kind"));
    ledger.Bind(1, year);
    while (true) {
      ASSIGN_OR_RETURN(bool row, ledger.Step());
      if (!row) break;
      sums[{ledger.Int(0), ledger.Int(1), ledger.Int(2)}].first = ledger.Int(3);
    }
    ASSIGN_OR_RETURN(Statement totals,
                     tx.Prepare("SELECT scheme_id, month, kind, amount_pence FROM total WHERE "
                                "year = ?"));
    totals.Bind(1, year);
    while (true) {
      ASSIGN_OR_RETURN(bool row, totals.Step());
      if (!row) break;
      sums[{totals.Int(0), totals.Int(1), totals.Int(2)}].second = totals.Int(3);
    }
    for (const auto& [key, pair] : sums) {
      if (pair.first == pair.second) continue;
      const auto& [scheme_id, month, kind] = key;
      out.findings.push_back(
          {0, PeriodName(year, static_cast<int>(month)),
           absl::StrCat("the running total of scheme id ", scheme_id, " ",
                        FormatFinancialYear(year), " M", month, " kind ", kind, " is ", pair.second,
                        " pence but its postings add up to ", pair.first)});
      break;  // one is enough to say the totals were changed
    }
  }

  // Period rows agree with the last signed event of each month.
  std::array<int64_t, 13> last_close{};  // seal id of the month's standing close, 0 if none
  for (const Seal& seal : seals) {
    const int m = seal.content.month;
    if (m >= 1 && m <= 12) last_close[m] = seal.content.action == "close" ? seal.id : 0;
  }
  ASSIGN_OR_RETURN(Statement periods, tx.Prepare(kPeriodStateSql));
  ASSIGN_OR_RETURN(Statement seal_of,
                   tx.Prepare("SELECT seal_id FROM period WHERE year = ? AND month = ?"));
  for (int m = 1; m <= 12; ++m) {
    ASSIGN_OR_RETURN(int state, ReadPeriodState(periods, year, m));
    seal_of.Reset();
    seal_of.Bind(1, year).Bind(2, m);
    ASSIGN_OR_RETURN(bool found, seal_of.Step());
    const int64_t seal_id = found ? seal_of.OptionalInt(0).value_or(0) : 0;
    seal_of.Reset();
    const bool signed_closed = last_close[m] != 0;
    if ((state == kPeriodClosed) != signed_closed || (signed_closed && seal_id != last_close[m])) {
      out.findings.push_back(
          {0, PeriodName(year, m),
           absl::StrCat(FormatFinancialYear(year), " M", m, " is stored as ",
                        state == kPeriodClosed ? "closed" : "not closed",
                        " but its signed seals say ", signed_closed ? "closed" : "not closed")});
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<LedgerVerification> VerifyLedger(FinanceStore& store, std::string_view seal_key,
                                                std::optional<int> year) {
  return store.Read([&](Transaction& tx) -> absl::StatusOr<LedgerVerification> {
    LedgerVerification out;
    std::vector<int> years;
    if (year) {
      years.push_back(*year);
    } else {
      ASSIGN_OR_RETURN(years, YearsHeld(tx));
    }
    for (int y : years) RETURN_IF_ERROR(VerifyYear(tx, seal_key, y, out));
    // A link left behind by a removed posting.
    ASSIGN_OR_RETURN(Statement orphans,
                     tx.Prepare("SELECT c.posting_id FROM posting_chain c LEFT JOIN posting p ON "
                                "p.id = c.posting_id WHERE p.id IS NULL ORDER BY c.posting_id"));
    while (true) {
      ASSIGN_OR_RETURN(bool row, orphans.Step());
      if (!row) break;
      const int64_t id = orphans.Int(0);
      out.findings.push_back({id, "", absl::StrCat(PostingName(id), " was removed")});
    }
    std::stable_sort(out.findings.begin(), out.findings.end(),
                     [](const LedgerFinding& a, const LedgerFinding& b) {
                       const auto key = [](const LedgerFinding& f) {
                         return f.posting_id == 0 ? INT64_MAX : f.posting_id;
                       };
                       return key(a) < key(b);
                     });
    if (!out.findings.empty()) out.first_mismatch = out.findings.front().posting_id;
    return out;
  });
}

}  // namespace dorset::finance
