#include "runtime/storage/migrations.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "runtime/base/string_view.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"

namespace dorset::runtime::storage {

absl::Status CheckSequence(std::span<const Migration> migrations) {
  int expected = 1;
  for (const Migration& m : migrations) {
    if (m.version != expected++) {
      return absl::InternalError(absl::StrCat("migration ", m.version, " (", ToAbsl(m.name),
                                              ") is out of sequence: expected ", expected - 1));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int> SchemaVersion(Transaction& tx, std::string_view table) {
  ASSIGN_OR_RETURN(Statement stmt, tx.Prepare(absl::StrCat("SELECT COALESCE(MAX(version), 0) FROM ",
                                                           ToAbsl(table))));
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return absl::InternalError(absl::StrCat(ToAbsl(table), ": no row"));
  return static_cast<int>(stmt.Int(0));
}

absl::Status ApplyMigrations(Transaction& tx, std::span<const Migration> migrations,
                             std::string_view table) {
  RETURN_IF_ERROR(tx.Exec(absl::StrCat("CREATE TABLE IF NOT EXISTS ", ToAbsl(table),
                                       " (version BIGINT PRIMARY KEY, name TEXT NOT NULL, "
                                       "applied_at TEXT NOT NULL)")));
  ASSIGN_OR_RETURN(int current, SchemaVersion(tx, table));
  if (current > static_cast<int>(migrations.size())) {
    return absl::FailedPreconditionError(
        absl::StrCat("database schema version ", current, " is newer than this binary knows (",
                     migrations.size(), "): refusing to run an older binary on it"));
  }
  const std::string now = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone());
  for (const Migration& m : migrations) {
    if (m.version <= current) continue;
    RETURN_IF_ERROR(
        Annotate(tx.Exec(m.sql), absl::StrCat("migration ", m.version, " (", ToAbsl(m.name), ")")));
    ASSIGN_OR_RETURN(Statement record,
                     tx.Prepare(absl::StrCat("INSERT INTO ", ToAbsl(table),
                                             " (version, name, applied_at) VALUES (?, ?, ?)")));
    RETURN_IF_ERROR(record.Bind(1, m.version).Bind(2, m.name).Bind(3, now).Run());
  }
  return absl::OkStatus();
}

}  // namespace dorset::runtime::storage
