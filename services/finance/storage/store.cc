#include "services/finance/storage/store.h"

#include "absl/time/clock.h"
#include "finance_migrations.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/data_version.h"
#include "runtime/storage/database_url.h"
#include "runtime/storage/open.h"
#include "runtime/storage/sqlite/user_version.h"
#include "services/finance/storage/plan_figures.h"

namespace dorset::finance {

namespace storage = runtime::storage;

int64_t NowMicros() { return absl::ToUnixMicros(absl::Now()); }

// In `meta` (no migration): absent means 0 (runtime/storage/data_version.h).
absl::StatusOr<uint64_t> FinanceStore::BumpDataVersion(Transaction& tx) {
  return storage::BumpDataVersion(tx, kDataChannel);
}

absl::StatusOr<uint64_t> FinanceStore::SendDataVersionBump(Transaction& tx, uint64_t read) {
  return storage::SendDataVersionBump(tx, kDataChannel, read);
}

absl::StatusOr<uint64_t> FinanceStore::DataVersion() { return storage::ReadDataVersion(*db_); }
absl::StatusOr<uint64_t> FinanceStore::DataVersion(Transaction& tx) {
  return storage::ReadDataVersion(tx);
}

FinanceStore::FinanceStore(std::unique_ptr<storage::Database> db)
    : db_(std::move(db)), figures_(std::make_unique<PlanFigures>(*this)) {}
FinanceStore::~FinanceStore() = default;

void FinanceStore::FollowOtherWriters() {
  follower_ = std::make_unique<storage::DataVersionFollower>(
      storage::DataVersionFollower::Source{.read_version = [this] { return DataVersion(); },
                                           .advance = [this] { Advance(); },
                                           .postgres_uri = postgres_uri_,
                                           .password = password_,
                                           .channel = kDataChannel,
                                           .own = &own_commits_});
}

absl::StatusOr<std::unique_ptr<FinanceStore>> FinanceStore::Open(
    const runtime::ServerConfig& config) {
  std::string password;
  if (!config.database_password_file.empty()) {
    ASSIGN_OR_RETURN(password, storage::ReadPasswordFile(config.database_password_file));
  }
  return Open(config.database, config.data_dir, password);
}

absl::StatusOr<std::unique_ptr<FinanceStore>> FinanceStore::Open(const std::string& database,
                                                                 const std::string& data_dir,
                                                                 const std::string& password) {
  ASSIGN_OR_RETURN(storage::DatabaseUrl url,
                   storage::ParseDatabaseUrl(database, data_dir, "finance"));
  if (url.kind == storage::DatabaseUrl::Kind::kSqlite) {
    // A finance.db from before the lane kept its version in PRAGMA user_version.
    RETURN_IF_ERROR(storage::AdoptUserVersion(
        url.sqlite_path, migrations::FinanceMigrations(storage::Engine::kSqlite)));
  }
  ASSIGN_OR_RETURN(
      std::unique_ptr<storage::Database> db,
      storage::OpenDatabase(url, {.password = password}, migrations::FinanceMigrations));
  std::unique_ptr<FinanceStore> store(new FinanceStore(std::move(db)));
  if (url.kind == storage::DatabaseUrl::Kind::kPostgres) {
    store->postgres_uri_ = url.postgres_uri;
    store->password_ = password;
  }
  return store;
}

}  // namespace dorset::finance
