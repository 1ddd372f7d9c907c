// Applies schema migrations inside one transaction that holds the engine's schema lock
// (Database opens it with TransactionMode::kMigrate), so two processes starting together
// migrate once: the second waits for the lock, then finds every step recorded. Each applied
// step is a row of schema_migrations (version, name, applied_at); a database that records a
// version this binary does not know is refused with FAILED_PRECONDITION.
//
//   RETURN_IF_ERROR(CheckSequence(migrations));
//   db.Run(TransactionMode::kMigrate, [&](Transaction& tx) { return ApplyMigrations(tx,
//   migrations); });
#ifndef DORSET_RUNTIME_STORAGE_MIGRATIONS_H_
#define DORSET_RUNTIME_STORAGE_MIGRATIONS_H_

#include <span>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/storage/database.h"
#include "runtime/storage/migration.h"

namespace dorset::runtime::storage {

// `table` records the steps (another name for a second set of steps in the same database: the
// audit trail's, runtime/audit).
absl::Status ApplyMigrations(Transaction& tx, std::span<const Migration> migrations,
                             std::string_view table = "schema_migrations");

// The highest version recorded in schema_migrations (0 when none).
absl::StatusOr<int> SchemaVersion(Transaction& tx, std::string_view table = "schema_migrations");

}  // namespace dorset::runtime::storage

#endif  // DORSET_RUNTIME_STORAGE_MIGRATIONS_H_
