#include "runtime/storage/data_version.h"

#include <algorithm>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "runtime/base/thread_name.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/postgres/listener.h"
#include "runtime/storage/transact.h"

namespace dorset::runtime::storage {
namespace {

constexpr char kUpsert[] =
    "INSERT INTO meta(key, value) VALUES ('data_version', '1') "
    "ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(meta.value AS BIGINT) + 1 AS TEXT)";

constexpr char kRead[] = "SELECT CAST(value AS BIGINT) FROM meta WHERE key = 'data_version'";

}  // namespace

absl::StatusOr<uint64_t> BumpDataVersion(Transaction& tx, std::string_view channel) {
  if (tx.engine() == Engine::kPostgres) {
    // RETURNING gives the version this transaction commits without a read of its own, and the
    // notification goes in the same statement (one round trip), carrying that version so that
    // the process that committed it need not read it back (OwnCommits).
    ASSIGN_OR_RETURN(Statement bump, tx.Prepare(absl::StrCat(
                                         kUpsert, " RETURNING CAST(value AS BIGINT), pg_notify('",
                                         std::string(channel), "', value)")));
    ASSIGN_OR_RETURN(bool row, bump.Step());
    if (!row) return absl::InternalError("bumping the data version gave no row");
    return static_cast<uint64_t>(bump.Int(0));
  }
  // SQLite: the upsert, then a read of the row it left. RETURNING there runs the statement
  // through a temporary b-tree (a pager of its own, page-sized allocations) on every call: ~45k
  // instructions a posting group against ~12k for these two (issue 16, bench/README.md session 21).
  ASSIGN_OR_RETURN(Statement bump, tx.Prepare(kUpsert));
  RETURN_IF_ERROR(bump.Run());
  return ReadDataVersion(tx);
}

absl::StatusOr<uint64_t> SendDataVersionBump(Transaction& tx, std::string_view channel,
                                             uint64_t read) {
  const uint64_t next = read + 1;
  if (tx.engine() != Engine::kPostgres) {
    ASSIGN_OR_RETURN(const uint64_t bumped, BumpDataVersion(tx, channel));
    if (bumped != next) {
      return absl::InternalError(
          absl::StrCat("the data version moved under the transaction: ", bumped, ", not ", next));
    }
    return bumped;
  }
  // Nobody reads the result: a value other than `next` is cast from a text that is no number,
  // which fails the statement (SQLSTATE 22P02), so the transaction cannot commit with it.
  ASSIGN_OR_RETURN(
      Statement bump,
      tx.Prepare(absl::StrCat(kUpsert,
                              " RETURNING CAST(CASE WHEN value = ? THEN value ELSE 'the data "
                              "version moved under the transaction: ' || value END AS BIGINT), "
                              "pg_notify('",
                              std::string(channel), "', value)")));
  RETURN_IF_ERROR(bump.Bind(1, std::to_string(next)).Send());
  return next;
}

absl::StatusOr<uint64_t> ReadDataVersion(Transaction& tx) {
  ASSIGN_OR_RETURN(Statement read, tx.Prepare(kRead));
  return TakeDataVersion(read);
}

absl::StatusOr<Statement> SendDataVersionRead(Transaction& tx) {
  ASSIGN_OR_RETURN(Statement read, tx.Prepare(kRead));
  RETURN_IF_ERROR(read.SendAhead());
  return read;
}

absl::StatusOr<uint64_t> TakeDataVersion(Statement& read) {
  ASSIGN_OR_RETURN(bool row, read.Step());
  const uint64_t version = row ? static_cast<uint64_t>(read.Int(0)) : 0;
  read.Reset();
  return version;
}

absl::StatusOr<uint64_t> ReadDataVersion(Database& db) {
  return ReadReturning(
      db, [](Transaction& tx) -> absl::StatusOr<uint64_t> { return ReadDataVersion(tx); });
}

void OwnCommits::Committing(uint64_t version) {
  absl::MutexLock lock(&mu_);
  pending_.push_back(version);
}

void OwnCommits::Remove(uint64_t version) {
  auto it = std::find(pending_.begin(), pending_.end(), version);
  if (it != pending_.end()) pending_.erase(it);
}

void OwnCommits::Covered(uint64_t version, Advanced advanced) {
  absl::MutexLock lock(&mu_);
  Remove(version);
  const uint64_t covered = covered_.load(std::memory_order_relaxed);
  // Some generations only: covered when nothing of another writer came between (class comment).
  if (advanced == Advanced::kSome && covered + 1 < version) return;
  if (version > covered) covered_.store(version, std::memory_order_release);
}

void OwnCommits::Withdraw(uint64_t version) {
  absl::MutexLock lock(&mu_);
  Remove(version);
}

void OwnCommits::Read(uint64_t version, bool backwards) {
  absl::MutexLock lock(&mu_);
  if (backwards || version > covered_.load(std::memory_order_relaxed)) {
    covered_.store(version, std::memory_order_release);
  }
}

bool OwnCommits::Settled(Awaited* awaited) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  const OwnCommits& own = *awaited->own;
  return own.covered_.load(std::memory_order_relaxed) >= awaited->version ||
         std::find(own.pending_.begin(), own.pending_.end(), awaited->version) ==
             own.pending_.end();
}

bool OwnCommits::AwaitCovered(uint64_t version, absl::Duration timeout) {
  Awaited awaited{this, version};
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&OwnCommits::Settled, &awaited), timeout);
  return covered_.load(std::memory_order_relaxed) >= version;
}

void OwnCommit::Bumped(uint64_t version) {
  Withdraw();  // a retried transaction's earlier run did not commit
  version_ = version;
  if (own_ != nullptr) own_->Committing(version);
}

void OwnCommit::Covered(OwnCommits::Advanced advanced) {
  if (own_ != nullptr && version_.has_value()) own_->Covered(*version_, advanced);
  version_.reset();
}

void OwnCommit::Withdraw() {
  if (own_ != nullptr && version_.has_value()) own_->Withdraw(*version_);
  version_.reset();
}

DataVersionFollower::DataVersionFollower(Source source, absl::Duration poll)
    : source_(std::move(source)), poll_(poll) {
  if (!source_.postgres_uri.empty()) {
    listener_ =
        std::make_unique<PostgresListener>(source_.postgres_uri, source_.password, source_.channel);
  }
  // The baseline before any reply is kept: a write after it, from anywhere, is seen as a change.
  absl::StatusOr<uint64_t> version = source_.read_version();
  if (version.ok()) {
    seen_ = *version;
    if (source_.own != nullptr) source_.own->Read(*version, /*backwards=*/false);
  }
  thread_ = std::thread([this] {
    NameThisThread("data-version");
    Loop();
  });
}

DataVersionFollower::~DataVersionFollower() {
  stop_.Notify();
  thread_.join();
}

bool DataVersionFollower::AllOwn(const std::vector<std::string>& payloads) {
  if (source_.own == nullptr || payloads.empty()) return false;  // a (re)connection: read
  for (const std::string& payload : payloads) {
    uint64_t version = 0;
    if (!absl::SimpleAtoi(payload, &version)) return false;  // e.g. an older writer's ''
    if (version <= source_.own->covered()) continue;
    // This process's commit may be finishing (its notification can come before its advance):
    // wait for its outcome, bounded (a commit withdrawn late, or another writer's commit of a
    // version this process rolled back, costs at most `poll`).
    if (!source_.own->AwaitCovered(version, poll_)) return false;
  }
  return true;
}

void DataVersionFollower::Loop() {
  absl::Time last_read = absl::Now();  // the baseline's
  while (!stop_.HasBeenNotified()) {
    bool read = true;
    if (listener_ != nullptr) {
      // A notification, a timeout or a reconnection: read the version unless every
      // notification was of this process's own commits, already advanced for.
      std::vector<std::string> payloads;
      absl::StatusOr<bool> notified = listener_->Wait(poll_, &payloads);
      if (!notified.ok() && stop_.WaitForNotificationWithTimeout(poll_)) return;
      if (notified.ok() && *notified && AllOwn(payloads)) {
        read = absl::Now() - last_read >= poll_;  // and still at least once per poll
      }
    } else if (stop_.WaitForNotificationWithTimeout(poll_)) {
      return;
    }
    if (!read) continue;
    last_read = absl::Now();
    absl::StatusOr<uint64_t> version = source_.read_version();
    if (!version.ok()) continue;  // the database is away: read again on the next turn
    const bool backwards = seen_.has_value() && *version < *seen_;
    if (source_.own == nullptr) {
      if (!seen_.has_value() || *seen_ != *version) source_.advance();
    } else if (backwards || *version > source_.own->covered()) {
      // Another writer's commit (or one of this process's not yet covered: once more for it is
      // harmless, a miss). Covered only after the advance (OwnCommits).
      source_.advance();
    }
    if (source_.own != nullptr) source_.own->Read(*version, backwards);
    seen_ = *version;
  }
}

}  // namespace dorset::runtime::storage
