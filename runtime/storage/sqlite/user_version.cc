#include "runtime/storage/sqlite/user_version.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "runtime/sqlite/database.h"
#include "runtime/status/status_macros.h"

namespace dorset::runtime::storage {

absl::Status AdoptUserVersion(const std::string& path, std::span<const Migration> migrations) {
  std::error_code error;
  if (!std::filesystem::exists(path, error)) return absl::OkStatus();  // a new store
  ASSIGN_OR_RETURN(std::unique_ptr<sqlite::Database> db, sqlite::Database::Open(path));
  // Under the write lock, so two processes starting together carry it over once.
  ASSIGN_OR_RETURN(sqlite::Transaction tx, sqlite::Transaction::Begin(*db));
  ASSIGN_OR_RETURN(sqlite::Statement lane,
                   db->Prepare("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND "
                               "name = 'schema_migrations'"));
  ASSIGN_OR_RETURN(bool row, lane.Step());
  if (row && lane.Int(0) > 0) return absl::OkStatus();  // already on the lane
  ASSIGN_OR_RETURN(int version, db->SchemaVersion());
  if (version == 0) return absl::OkStatus();
  if (version > static_cast<int>(migrations.size())) {
    return absl::FailedPreconditionError(
        absl::StrCat("store schema version ", version, " is newer than this binary knows (",
                     migrations.size(), "): refusing to run an older binary on it"));
  }
  // The same table ApplyMigrations creates (migrations.cc).
  RETURN_IF_ERROR(
      db->Exec("CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, "
               "applied_at TEXT NOT NULL)"));
  const std::string now = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone());
  ASSIGN_OR_RETURN(sqlite::Statement insert,
                   db->Prepare("INSERT INTO schema_migrations (version, name, applied_at) "
                               "VALUES (?, ?, ?)"));
  for (int v = 1; v <= version; ++v) {
    insert.Reset();
    insert.Bind(1, v).Bind(2, migrations[v - 1].name).Bind(3, now);
    RETURN_IF_ERROR(insert.Run());
  }
  return tx.Commit();
}

}  // namespace dorset::runtime::storage
