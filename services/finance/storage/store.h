// The finance service's store on the storage lane (docs/storage.md): one runtime::storage
// Database, SQLite by default (`<data_dir>/finance.db`, as before the lane) or PostgreSQL by
// the `database` setting. Every read and write is one transaction run as a function; the SQL
// lives in this folder only.
//
//   ASSIGN_OR_RETURN(auto store, FinanceStore::Open(config));
//   absl::StatusOr<int64_t> n = store->Read([&](Transaction& tx) -> absl::StatusOr<int64_t> {...});
#ifndef DORSET_SERVICES_FINANCE_STORAGE_STORE_H_
#define DORSET_SERVICES_FINANCE_STORAGE_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "runtime/config/config.h"
#include "runtime/storage/data_version.h"
#include "runtime/storage/database.h"
#include "runtime/storage/transact.h"
#include "runtime/storage/write_and_advance.h"

namespace dorset::finance {

using runtime::storage::Transaction;

class PlanFigures;

class FinanceStore {
 public:
  // From the server's settings: `database` (empty: SQLite at `<data_dir>/finance.db`),
  // `database_password_file`. A store written before the lane opens as it is.
  static absl::StatusOr<std::unique_ptr<FinanceStore>> Open(const runtime::ServerConfig& config);
  // `database` as the setting takes it ("" for `<data_dir>/finance.db`, sqlite:///…,
  // postgres://…), with PostgreSQL's password.
  static absl::StatusOr<std::unique_ptr<FinanceStore>> Open(const std::string& database,
                                                            const std::string& data_dir,
                                                            const std::string& password = "");
  ~FinanceStore();

  // Runs `fn(Transaction&)` in a write transaction, committed when its result is OK and run
  // again from the start on a serialization failure (so `fn` touches only the database and its
  // own locals). Returns what `fn` returned, or the commit's error. The data version is bumped
  // in the same transaction and both generations raised after it
  // (runtime/storage/write_and_advance.h).
  template <typename Fn>
  auto Write(Fn&& fn) {
    return runtime::storage::WriteAndAdvance(
        *db_, kDataChannel, &own_commits_, [this] { Advance(); }, std::forward<Fn>(fn));
  }

  // What GetReport's cached replies are kept under (issue 16, runtime/cache/
  // versioned_response_cache.h): a number of this process's own, raised after each of its
  // write transactions commits and before the write is acknowledged (Write above, the posting
  // committer), and by the DataVersionFollower when the data version in the database moved
  // because another replica (or process) wrote (runtime/storage/data_version.h). Read before
  // the report is read.
  uint64_t generation() const { return generation_.get(); }
  void Advance() {
    generation_.Advance();
    plan_generation_.Advance();
  }
  // The same, except that a posting group (the posting committer) raises only generation(): a
  // group writes postings, their chain links, totals, request records and audit events, never a
  // plan's nodes, targets or periods, so what is kept under this one (GetScheme's replies; the
  // plans' figures, which the committer brings up to date itself: PlanFigures::ApplyGroup)
  // outlives it. Raised by every other write of this process and by the DataVersionFollower.
  uint64_t plan_generation() const { return plan_generation_.get(); }
  void AdvanceAfterPostings() { generation_.Advance(); }
  // A plan's tree and ledger totals per (plan, year), kept across posting groups
  // (plan_figures.h): what GetReport builds from.
  PlanFigures& figures() { return *figures_; }

  // The data version in the database: every write transaction raises it in its own commit and,
  // on PostgreSQL, notifies kDataChannel, delivered at that commit.
  static constexpr char kDataChannel[] = "dorset_finance_data";
  absl::StatusOr<uint64_t> DataVersion();
  // Raises it in `tx`: the version `tx` commits.
  static absl::StatusOr<uint64_t> BumpDataVersion(Transaction& tx);
  // The same for a transaction that read the version `read` at its start: the bump is sent
  // without waiting, in one round trip with the commit (runtime/storage/data_version.h).
  static absl::StatusOr<uint64_t> SendDataVersionBump(Transaction& tx, uint64_t read);
  // This process's own commits, advanced for: each write records its version here so that the
  // DataVersionFollower does not advance again for it (runtime/storage/data_version.h).
  runtime::storage::OwnCommits& own_commits() { return own_commits_; }
  // The data version as of `tx` (in a write transaction after its bump: the version it commits).
  static absl::StatusOr<uint64_t> DataVersion(Transaction& tx);
  // Starts following other replicas' (and processes') commits: the generation is raised when
  // the data version in the database moves (runtime/storage/data_version.h), until the store is
  // destroyed. Once, by the service at its start.
  void FollowOtherWriters();
  // Runs `fn(Transaction&)` in a read-only transaction (one snapshot).
  template <typename Fn>
  auto Read(Fn&& fn) {
    return runtime::storage::ReadReturning(*db_, std::forward<Fn>(fn));
  }

  // The database's health (readiness: NOT_SERVING while it is away).
  absl::Status Check() { return db_->Health(); }
  runtime::storage::Engine engine() const { return db_->engine(); }
  runtime::storage::Database& database() { return *db_; }

 private:
  explicit FinanceStore(std::unique_ptr<runtime::storage::Database> db);

  std::unique_ptr<runtime::storage::Database> db_;
  runtime::storage::StoreGeneration generation_;
  runtime::storage::StoreGeneration plan_generation_;
  std::unique_ptr<PlanFigures> figures_;
  std::string postgres_uri_;
  std::string password_;
  // This process's commits already advanced for (the follower skips them).
  runtime::storage::OwnCommits own_commits_;
  // Last: stopped before the rest of the store goes.
  std::unique_ptr<runtime::storage::DataVersionFollower> follower_;
};

// Wall-clock now in microseconds since the epoch (what the store keeps for times).
int64_t NowMicros();

}  // namespace dorset::finance

#endif  // DORSET_SERVICES_FINANCE_STORAGE_STORE_H_
