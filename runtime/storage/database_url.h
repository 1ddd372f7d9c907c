// The `database` setting: which engine and where. `sqlite:///abs/path/file.db`, empty (the
// default: <data_dir>/<service>.db), or a libpq URI `postgres://user@host:port/db?sslmode=...`.
// The password never appears in the URI (refused there): it comes from the file named by
// `database_password_file`, and Redacted() is the form logs show.
//
//   ASSIGN_OR_RETURN(DatabaseUrl url, ParseDatabaseUrl(config.database, config.data_dir,
//                                                      config.service));
//   log.Info("database {}", url.Redacted());
#ifndef DORSET_RUNTIME_STORAGE_DATABASE_URL_H_
#define DORSET_RUNTIME_STORAGE_DATABASE_URL_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace dorset::runtime::storage {

struct DatabaseUrl {
  enum class Kind { kSqlite, kPostgres };
  Kind kind = Kind::kSqlite;
  std::string sqlite_path;   // kSqlite: absolute or relative to the working directory
  std::string postgres_uri;  // kPostgres: the libpq URI as given (it holds no password)
  std::string user, host, dbname;
  int port = 5432;

  // The form for logs: the URI without query parameters' values that could carry secrets.
  std::string Redacted() const;
};

// INVALID_ARGUMENT naming the setting `database` when `url` is malformed or holds a password.
absl::StatusOr<DatabaseUrl> ParseDatabaseUrl(std::string_view url, std::string_view data_dir,
                                             std::string_view service);

// Reads the password file: its first line, without the line end. INVALID_ARGUMENT naming
// `database_password_file` when it cannot be read or is empty.
absl::StatusOr<std::string> ReadPasswordFile(const std::string& path);

}  // namespace dorset::runtime::storage

#endif  // DORSET_RUNTIME_STORAGE_DATABASE_URL_H_
