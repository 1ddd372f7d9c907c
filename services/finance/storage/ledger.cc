// The ledger writer's making and keeping (LedgerWriter, ledger.h): its statements in the group's
// transaction, and the ledger state a group leaves for the next one (LedgerMemo). The checks are
// in ledger_check.cc, the writes in ledger_write.cc, the reads in ledger_reader.cc.
#include "services/finance/storage/ledger.h"

#include <cstddef>
#include <memory>

#include "runtime/storage/data_version.h"
#include "services/finance/storage/chain.h"
#include "services/finance/storage/ledger_statements.h"

namespace dorset::finance {

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

LedgerWriter::~LedgerWriter() {
  // Its statements go back to the transaction now (the writer lives inside it); the storage is
  // kept for the next group's writer.
  LedgerMemo* memo = s_->memo;
  std::destroy_at(s_);
  auto* storage = reinterpret_cast<std::byte*>(s_);
  if (memo != nullptr && memo->spare_ == nullptr) {
    memo->spare_.reset(storage);
  } else {
    delete[] storage;
  }
}

absl::StatusOr<std::unique_ptr<LedgerWriter>> LedgerWriter::Create(
    Transaction& tx, LedgerMemo* memo, std::span<const std::string> request_ids) {
  // Its lookups deferred when the group committer allows it (idempotency.h): Flush, which
  // every group runs after its last Check, finds out whether a request was seen before.
  ASSIGN_OR_RETURN(runtime::storage::IdempotencyRecord record,
                   runtime::storage::IdempotencyRecord::Prepare(
                       tx, runtime::storage::IdempotencyRecord::Lookups::kDeferred));
  // Sent before the version's read, which then reads both in one round trip.
  if (tx.engine() == runtime::storage::Engine::kPostgres) {
    RETURN_IF_ERROR(record.SendPrefetch(request_ids));
  }
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
  ASSIGN_OR_RETURN(ChainWriter chain, ChainWriter::Create(tx));
  std::unique_ptr<std::byte[]> storage = memo != nullptr ? std::move(memo->spare_) : nullptr;
  static_assert(alignof(Statements) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);
  if (storage == nullptr) storage = std::make_unique_for_overwrite<std::byte[]>(sizeof(Statements));
  Statements* statements = std::construct_at(reinterpret_cast<Statements*>(storage.release()), tx,
                                             std::move(record), std::move(chain));
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
  return std::unique_ptr<LedgerWriter>(new LedgerWriter(statements));
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

absl::Status LedgerWriter::PrefetchRequests(std::span<const std::string> request_ids) {
  if (s_->tx->engine() != runtime::storage::Engine::kPostgres) return absl::OkStatus();
  return s_->record.Prefetch(request_ids);
}

absl::StatusOr<std::vector<v1::Posting>> LedgerWriter::Apply(const PostingBatch& batch) {
  ASSIGN_OR_RETURN(Checked checked, Check(batch));
  ASSIGN_OR_RETURN(std::vector<v1::Posting> postings, Write(batch, checked));
  RETURN_IF_ERROR(Flush());
  return postings;
}

}  // namespace dorset::finance
