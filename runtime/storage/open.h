// Opens the storage lane's Database for a service from its settings: `database` picks the
// engine (database_url.h), `database_password_file` supplies PostgreSQL's password, and the
// service's migrations for that engine are applied. The one place that knows both engines.
//
//   ASSIGN_OR_RETURN(auto db, OpenServiceDatabase(config, dorset::migrations::FinanceMigrations));
//   host.AddReadinessCheck([db = db.get()] { return db->Health(); });
#ifndef DORSET_RUNTIME_STORAGE_OPEN_H_
#define DORSET_RUNTIME_STORAGE_OPEN_H_

#include <cstddef>
#include <memory>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/config/config.h"
#include "runtime/storage/database.h"
#include "runtime/storage/database_url.h"

namespace dorset::runtime::storage {

// A service's migrations for an engine (what dorset_migrations() generates).
using MigrationsFor = std::span<const Migration> (*)(Engine);

struct OpenSettings {
  std::string password;  // PostgreSQL only
  int sqlite_readers = 4;
  // SqliteOptions::secure_delete (freed space zeroed; for stores holding personal data).
  bool sqlite_secure_delete = false;
  // SqliteOptions::request_log_merge_at (request_log.h); tests set it small.
  size_t sqlite_request_log_merge_at = 8192;
  int postgres_connections = 8;
};

absl::StatusOr<std::unique_ptr<Database>> OpenDatabase(const DatabaseUrl& url,
                                                       const OpenSettings& settings,
                                                       MigrationsFor migrations,
                                                       DatabaseOptions options = {});

// From a server's configuration: database, database_password_file, data_dir, service.
absl::StatusOr<std::unique_ptr<Database>> OpenServiceDatabase(const ServerConfig& config,
                                                              MigrationsFor migrations);

}  // namespace dorset::runtime::storage

#endif  // DORSET_RUNTIME_STORAGE_OPEN_H_
