#include "services/finance/storage/store.h"

#include "absl/time/clock.h"
#include "finance_migrations.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/database_url.h"
#include "runtime/storage/open.h"
#include "runtime/storage/sqlite/user_version.h"

namespace dorset::finance {

namespace storage = runtime::storage;

int64_t NowMicros() { return absl::ToUnixMicros(absl::Now()); }

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
  return std::unique_ptr<FinanceStore>(new FinanceStore(std::move(db)));
}

}  // namespace dorset::finance
