#include "runtime/storage/open.h"

#include <cstdlib>
#include <string_view>

#include "runtime/status/status_macros.h"
#include "runtime/storage/postgres/postgres_engine.h"
#include "runtime/storage/sqlite/sqlite_engine.h"

namespace dorset::runtime::storage {
namespace {

// DORSET_DATABASE_PIPELINE=off sends BEGIN as a round trip of its own (PostgresOptions); for
// measuring the pipeline's gain (bench/README.md) and as a way back should a server or proxy
// mishandle pipelines.
bool PipelineBegin() {
  const char* value = std::getenv("DORSET_DATABASE_PIPELINE");
  return value == nullptr || (std::string_view(value) != "off" && std::string_view(value) != "0");
}

}  // namespace

absl::StatusOr<std::unique_ptr<Database>> OpenDatabase(const DatabaseUrl& url,
                                                       const OpenSettings& settings,
                                                       MigrationsFor migrations,
                                                       DatabaseOptions options) {
  std::unique_ptr<Connector> connector;
  if (url.kind == DatabaseUrl::Kind::kSqlite) {
    connector = std::make_unique<SqliteConnector>(
        url.sqlite_path,
        SqliteOptions{.readers = settings.sqlite_readers,
                      .secure_delete = settings.sqlite_secure_delete,
                      .checkpoint = {},
                      .request_log_merge_at = settings.sqlite_request_log_merge_at});
  } else {
    connector = std::make_unique<PostgresConnector>(
        url.postgres_uri, PostgresOptions{.connections = settings.postgres_connections,
                                          .password = settings.password,
                                          .pipeline_begin = PipelineBegin()});
  }
  if (migrations != nullptr) options.migrations = migrations(connector->engine());
  return Database::Open(std::move(connector), options);
}

absl::StatusOr<std::unique_ptr<Database>> OpenServiceDatabase(const ServerConfig& config,
                                                              MigrationsFor migrations) {
  ASSIGN_OR_RETURN(DatabaseUrl url,
                   ParseDatabaseUrl(config.database, config.data_dir, config.service));
  OpenSettings settings;
  if (!config.database_password_file.empty()) {
    ASSIGN_OR_RETURN(settings.password, ReadPasswordFile(config.database_password_file));
  }
  return OpenDatabase(url, settings, migrations);
}

}  // namespace dorset::runtime::storage
