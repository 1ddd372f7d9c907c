#include "services/finance/storage/ledger.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "runtime/api/enum_names.h"
#include "runtime/api/request_id.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/data_version.h"
#include "runtime/storage/multi_row.h"
#include "services/finance/calendar.h"
#include "services/finance/limits.h"
#include "services/finance/money/money.h"
#include "services/finance/storage/chain.h"
#include "services/finance/storage/periods.h"
#include "services/finance/storage/schema.h"
#include "services/finance/time_util.h"

namespace dorset::finance {

using runtime::storage::Statement;

namespace {

// The idempotency record's method for CreatePosting and BatchCreatePostings alike: both are one
// ledger request, and their ids share one namespace (a CreatePosting retried as a one-posting
// batch is the same request).
constexpr char kPostingMethod[] = "CreatePostings";

runtime::storage::RequestKey KeyOf(const PostingBatch& batch) {
  return {.request_id = batch.request_id,
          .method = kPostingMethod,
          .principal = batch.principal,
          .request_hash = batch.content_hash};
}

// The stored reply is the request's posting range "<first id>:<count>": postings are immutable
// and consecutive, so the reply is read back from them (with any later reversal named).
std::string EncodeRange(int64_t first, int64_t count) { return absl::StrCat(first, ":", count); }

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

const std::string& ReadRangeSql() {
  static const std::string sql = absl::StrCat("SELECT ", kPostingColumns, " FROM ", kPostingJoins,
                                              " WHERE p.id BETWEEN ? AND ? ORDER BY p.id");
  return sql;
}

}  // namespace

// Schemes looked up (id, kind, state): schemes change only in transactions of their own, so a
// group asks the store once per scheme.
struct LedgerScheme {
  bool found = false;
  int64_t id = 0;
  int64_t kind = 0;
  int state = 0;
};

// What LedgerMemo keeps between groups: the ledger as the group's commit left it.
struct LedgerMemo::State {
  std::optional<int64_t> next_id;
  absl::flat_hash_map<int, std::string> chain_heads;
  absl::flat_hash_map<std::pair<int, int>, int> periods;
  absl::flat_hash_map<std::string, LedgerScheme> schemes;
  absl::flat_hash_map<LedgerWriter::TotalKey, int64_t> totals;
};

namespace {
// More entries than this are not kept (a group that touched very many schemes' totals): the
// next group reads what it needs afresh.
constexpr size_t kMaxMemoEntries = 4096;
}  // namespace

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

LedgerWriter::LedgerWriter(std::unique_ptr<Statements> statements) : s_(std::move(statements)) {}
LedgerWriter::~LedgerWriter() = default;

absl::StatusOr<std::unique_ptr<LedgerWriter>> LedgerWriter::Create(Transaction& tx,
                                                                   LedgerMemo* memo) {
  uint64_t version = 0;
  bool kept = false;
  if (memo != nullptr) {
    ASSIGN_OR_RETURN(version, runtime::storage::ReadDataVersion(tx));
    kept = memo->confirmed_ && memo->version_ == version && memo->state_ != nullptr;
    // Until this group's commit confirms what it keeps, nothing kept holds.
    memo->confirmed_ = false;
    memo->version_.reset();
  }
  // Postings from before the chain existed get their links first (a no-op once done; nothing
  // to do when nothing was written since the group before).
  if (!kept) RETURN_IF_ERROR(BackfillChain(tx));
  ASSIGN_OR_RETURN(runtime::storage::IdempotencyRecord record,
                   runtime::storage::IdempotencyRecord::Prepare(tx));
  ASSIGN_OR_RETURN(ChainWriter chain, ChainWriter::Create(tx));
  auto statements = std::make_unique<Statements>(tx, std::move(record), std::move(chain));
  statements->memo = memo;
  statements->version = version;
  if (kept) {
    LedgerMemo::State& state = *memo->state_;
    statements->next_id = state.next_id;
    statements->chain.AdoptHeads(std::move(state.chain_heads));
    statements->periods = std::move(state.periods);
    statements->schemes = std::move(state.schemes);
    statements->totals = std::move(state.totals);
  }
  if (memo != nullptr) memo->state_.reset();
  return std::unique_ptr<LedgerWriter>(new LedgerWriter(std::move(statements)));
}

void LedgerWriter::Keep() {
  LedgerMemo* memo = s_->memo;
  if (memo == nullptr || !s_->kept.empty() || !s_->dirty.empty()) return;  // not flushed
  if (s_->periods.size() + s_->schemes.size() + s_->totals.size() > kMaxMemoEntries) return;
  auto state = std::make_shared<LedgerMemo::State>();
  state->next_id = s_->next_id;
  state->chain_heads = s_->chain.TakeHeads();
  state->periods = std::move(s_->periods);
  state->schemes = std::move(s_->schemes);
  state->totals = std::move(s_->totals);
  memo->state_ = std::move(state);
  memo->version_ = s_->version + 1;  // what this transaction's BumpDataVersion made it
  memo->confirmed_ = false;
}

const std::vector<std::pair<LedgerWriter::TotalKey, int64_t>>& LedgerWriter::flushed_totals()
    const {
  return s_->flushed;
}

std::optional<uint64_t> LedgerWriter::start_version() const {
  if (s_->memo == nullptr) return std::nullopt;
  return s_->version;
}

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

absl::Status LedgerWriter::PrefetchRequests(std::span<const std::string> request_ids) {
  if (s_->tx->engine() != runtime::storage::Engine::kPostgres) return absl::OkStatus();
  return s_->record.Prefetch(request_ids);
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
      11);
  if (!s_->inserts.has_value()) s_->inserts.emplace(kInsert, *s_->tx);
  // The texts are bound without a copy: the kept rows' strings outlive the statement's run.
  absl::Status inserted =
      s_->inserts->Run(s_->kept.size(), [this](Statement& insert, size_t row, int first) {
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
  RETURN_IF_ERROR(s_->record.Flush());
  for (const TotalKey& key : s_->dirty) {
    ASSIGN_OR_RETURN(Statement * write_stmt, s_->write_total.Get(*s_->tx));
    Statement& write = *write_stmt;
    write.Reset();
    write.Bind(1, key.scheme_id).Bind(2, key.year).Bind(3, key.month).Bind(4, key.kind);
    const int64_t amount = s_->totals.at(key);
    write.Bind(5, amount);
    RETURN_IF_ERROR(write.Run());
    s_->flushed.emplace_back(key, amount);
  }
  s_->dirty.clear();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::Posting>> LedgerWriter::Apply(const PostingBatch& batch) {
  ASSIGN_OR_RETURN(Checked checked, Check(batch));
  ASSIGN_OR_RETURN(std::vector<v1::Posting> postings, Write(batch, checked));
  RETURN_IF_ERROR(Flush());
  return postings;
}

}  // namespace dorset::finance
