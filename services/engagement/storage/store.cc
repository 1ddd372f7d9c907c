#include "services/engagement/storage/store.h"

#include "engagement_migrations.h"
#include "runtime/sqlite/database.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/database_url.h"
#include "runtime/storage/open.h"
#include "runtime/storage/sqlite/user_version.h"

namespace dorset::engagement {

namespace storage = runtime::storage;

absl::StatusOr<std::unique_ptr<EngagementStore>> EngagementStore::Open(
    const runtime::ServerConfig& config) {
  std::string password;
  if (!config.database_password_file.empty()) {
    ASSIGN_OR_RETURN(password, storage::ReadPasswordFile(config.database_password_file));
  }
  return Open(config.database, config.data_dir, password);
}

absl::StatusOr<std::unique_ptr<EngagementStore>> EngagementStore::Open(
    const std::string& database, const std::string& data_dir, const std::string& password) {
  ASSIGN_OR_RETURN(storage::DatabaseUrl url,
                   storage::ParseDatabaseUrl(database, data_dir, "engagement"));
  if (url.kind == storage::DatabaseUrl::Kind::kSqlite) {
    // An engagement.db from before the lane kept its version (1-3) in PRAGMA user_version.
    RETURN_IF_ERROR(storage::AdoptUserVersion(
        url.sqlite_path, migrations::EngagementMigrations(storage::Engine::kSqlite)));
  }
  // Erasure overwrites personal data; secure_delete keeps the old bytes out of free pages.
  ASSIGN_OR_RETURN(
      std::unique_ptr<storage::Database> db,
      storage::OpenDatabase(
          url, storage::OpenSettings{.password = password, .sqlite_secure_delete = true},
          migrations::EngagementMigrations));
  std::unique_ptr<EngagementStore> store(new EngagementStore(
      std::move(db), url.kind == storage::DatabaseUrl::Kind::kSqlite ? url.sqlite_path : ""));
  if (url.kind == storage::DatabaseUrl::Kind::kPostgres) {
    store->postgres_uri_ = url.postgres_uri;
    store->password_ = password;
  }
  return store;
}

void EngagementStore::FollowOtherWriters() {
  follower_ = std::make_unique<storage::DataVersionFollower>(
      storage::DataVersionFollower::Source{.read_version = [this] { return DataVersion(); },
                                           .advance = [this] { Advance(); },
                                           .postgres_uri = postgres_uri_,
                                           .password = password_,
                                           .channel = kDataChannel,
                                           .own = &own_commits_});
}

absl::Status EngagementStore::CheckpointWal() {
  if (sqlite_path_.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::unique_ptr<runtime::sqlite::Database> db,
                   runtime::sqlite::Database::Open(sqlite_path_));
  return db->Exec("PRAGMA wal_checkpoint(TRUNCATE)");
}

}  // namespace dorset::engagement
