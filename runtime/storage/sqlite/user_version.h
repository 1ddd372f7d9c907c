// Carries a SQLite store written before the storage lane over to it. runtime/sqlite's Migrate
// recorded a store's schema version in PRAGMA user_version; the lane records each step as a row
// of schema_migrations. Called once before opening the lane's Database on that file: a store
// at user_version N (and no schema_migrations yet) gets rows 1..N, so the lane applies only the
// steps after N and the data stays as it is. A new file, or one already carried over, is left
// alone. The service's SQLite steps must keep the old numbering (step N = old version N).
//
//   RETURN_IF_ERROR(AdoptUserVersion(url.sqlite_path, FinanceMigrations(Engine::kSqlite)));
#ifndef DORSET_RUNTIME_STORAGE_SQLITE_USER_VERSION_H_
#define DORSET_RUNTIME_STORAGE_SQLITE_USER_VERSION_H_

#include <span>
#include <string>

#include "absl/status/status.h"
#include "runtime/storage/migration.h"

namespace dorset::runtime::storage {

// FAILED_PRECONDITION when the old version is newer than `migrations` knows.
absl::Status AdoptUserVersion(const std::string& path, std::span<const Migration> migrations);

}  // namespace dorset::runtime::storage

#endif  // DORSET_RUNTIME_STORAGE_SQLITE_USER_VERSION_H_
