// Pre-lane registry.db files: the old steps 1..4 with the text-repair SQL functions (see
// legacy_sqlite.h).
#include "services/registry/storage/legacy_sqlite.h"

#include <sqlite3.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "runtime/sqlite/database.h"
#include "runtime/status/status_macros.h"
#include "services/registry/stored_text.h"
#include "services/registry/text.h"

namespace dorset::registry {
namespace {

using google::protobuf::Descriptor;
using runtime::sqlite::Database;
using runtime::sqlite::Migration;

// The pre-lane steps, word for word as registry.db files of earlier releases applied them.
constexpr Migration kLegacyMigrations[] = {
    {1, R"sql(
CREATE TABLE cluster (
  id TEXT PRIMARY KEY,
  display_name TEXT NOT NULL,
  create_time INTEGER NOT NULL,
  update_time INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE locality (
  id TEXT PRIMARY KEY,
  display_name TEXT NOT NULL,
  cluster_id TEXT NOT NULL REFERENCES cluster(id),
  create_time INTEGER NOT NULL,
  update_time INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX locality_by_cluster ON locality(cluster_id, id);
-- The imported practice -> locality mapping; kept apart from practices so a mapping can be
-- loaded before the practices it names.
CREATE TABLE locality_assignment (
  ods_code TEXT PRIMARY KEY,
  locality_id TEXT NOT NULL REFERENCES locality(id)
) WITHOUT ROWID;
-- Indexed columns for filters and ordering; `data` is the whole Practice message.
CREATE TABLE practice (
  ods_code TEXT PRIMARY KEY,
  display_name TEXT NOT NULL,
  postcode_key TEXT NOT NULL,
  status INTEGER NOT NULL,
  prescribing_setting INTEGER NOT NULL,
  commissioner TEXT NOT NULL,
  locality_id TEXT REFERENCES locality(id),
  list_size INTEGER,
  update_time INTEGER NOT NULL,
  revision INTEGER NOT NULL,
  data BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX practice_by_locality ON practice(locality_id, ods_code);
CREATE INDEX practice_by_status ON practice(status, ods_code);
CREATE INDEX practice_by_commissioner ON practice(commissioner, ods_code);
CREATE INDEX practice_by_name ON practice(display_name, ods_code);
CREATE INDEX practice_by_postcode ON practice(postcode_key, ods_code);
CREATE INDEX practice_by_setting ON practice(prescribing_setting, ods_code);
CREATE INDEX practice_by_update ON practice(update_time, ods_code);
-- The change feed. AUTOINCREMENT: sequences are never reused, even after a rollback of the
-- newest rows. `payload` is a Change message (sequence filled in when read).
CREATE TABLE change (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  kind INTEGER NOT NULL,
  resource TEXT NOT NULL,
  commit_time INTEGER NOT NULL,
  source TEXT NOT NULL,
  actor TEXT NOT NULL,
  payload BLOB NOT NULL
);
CREATE TABLE practice_revision (
  ods_code TEXT NOT NULL,
  revision INTEGER NOT NULL,
  seq INTEGER NOT NULL REFERENCES change(seq),
  PRIMARY KEY (ods_code, revision)
) WITHOUT ROWID;
-- Idempotency keys of mutations: a retried request_id gets the first response.
CREATE TABLE request (
  request_id TEXT PRIMARY KEY,
  method TEXT NOT NULL,
  response BLOB NOT NULL,
  create_time INTEGER NOT NULL
) WITHOUT ROWID;
)sql"},
    // Text written before the registry checked it (a Latin-1 epraccur or localities file) is
    // repaired in place, never skipped: non-UTF-8 strings are decoded as Windows-1252 and
    // control characters become spaces, in the indexed columns and inside the stored
    // messages alike, so every row (and every change-feed entry) reads again. The functions
    // are registered below.
    {2, R"sql(
UPDATE practice SET data = dorset_repaired_message('dorset.registry.v1.Practice', data)
  WHERE dorset_repaired_message('dorset.registry.v1.Practice', data) IS NOT NULL;
UPDATE practice SET display_name = dorset_repaired_text(display_name)
  WHERE dorset_repaired_text(display_name) IS NOT NULL;
UPDATE practice SET commissioner = dorset_repaired_text(commissioner)
  WHERE dorset_repaired_text(commissioner) IS NOT NULL;
UPDATE locality SET display_name = dorset_repaired_text(display_name)
  WHERE dorset_repaired_text(display_name) IS NOT NULL;
UPDATE cluster SET display_name = dorset_repaired_text(display_name)
  WHERE dorset_repaired_text(display_name) IS NOT NULL;
UPDATE change SET payload = dorset_repaired_message('dorset.registry.v1.Change', payload)
  WHERE dorset_repaired_message('dorset.registry.v1.Change', payload) IS NOT NULL;
UPDATE change SET resource = dorset_repaired_text(resource)
  WHERE dorset_repaired_text(resource) IS NOT NULL;
UPDATE change SET actor = dorset_repaired_text(actor) WHERE dorset_repaired_text(actor) IS NOT NULL;
UPDATE request SET response = dorset_repaired_message(
    CASE method WHEN 'ImportFile' THEN 'dorset.registry.v1.ImportReport'
                WHEN 'CreatePractice' THEN 'dorset.registry.v1.Practice'
                WHEN 'UpdatePractice' THEN 'dorset.registry.v1.Practice'
                WHEN 'ClosePractice' THEN 'dorset.registry.v1.Practice' END, response)
  WHERE dorset_repaired_message(
    CASE method WHEN 'ImportFile' THEN 'dorset.registry.v1.ImportReport'
                WHEN 'CreatePractice' THEN 'dorset.registry.v1.Practice'
                WHEN 'UpdatePractice' THEN 'dorset.registry.v1.Practice'
                WHEN 'ClosePractice' THEN 'dorset.registry.v1.Practice' END, response) IS NOT NULL;
)sql"},
    // An import's scratch table (WriteTx::SeeOnce): empty outside an import's transaction.
    {3, R"sql(
CREATE TABLE import_seen (
  key TEXT PRIMARY KEY,
  line INTEGER NOT NULL,
  value TEXT NOT NULL
) WITHOUT ROWID;
)sql"},
    // A request_id remembers which request it was for (runtime/api/request_id.h), so the same
    // id with different content is refused instead of answered with the first result. Rows
    // written before keep '' (compared as "unknown": answered as a retry, as they were).
    {4, R"sql(
ALTER TABLE request ADD COLUMN request_hash TEXT NOT NULL DEFAULT '';
)sql"},
};

// ---- SQL functions ----

void RepairedMessageFn(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  const auto* name = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
  const Descriptor* type =
      name == nullptr
          ? nullptr
          : google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(name);
  if (type == nullptr || sqlite3_value_type(argv[1]) == SQLITE_NULL) {
    sqlite3_result_null(ctx);
    return;
  }
  const auto* data = static_cast<const char*>(sqlite3_value_blob(argv[1]));
  const int size = sqlite3_value_bytes(argv[1]);
  std::optional<std::string> fixed =
      RepairedMessageBytes(type, std::string_view(data == nullptr ? "" : data, size));
  if (!fixed) {
    sqlite3_result_null(ctx);
    return;
  }
  sqlite3_result_blob64(ctx, fixed->data(), fixed->size(), SQLITE_TRANSIENT);
}

void RepairedTextFn(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  if (sqlite3_value_type(argv[0]) != SQLITE_TEXT) {
    sqlite3_result_null(ctx);
    return;
  }
  const auto* data = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
  const int size = sqlite3_value_bytes(argv[0]);
  std::optional<std::string> fixed =
      RepairedText(std::string_view(data == nullptr ? "" : data, size));
  if (!fixed) {
    sqlite3_result_null(ctx);
    return;
  }
  sqlite3_result_text64(ctx, fixed->data(), fixed->size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}

// Registers the SQL functions the text-repair step uses on `db`:
//   dorset_repaired_message(type_name, blob) -> repaired blob, or NULL when nothing to repair
//   dorset_repaired_text(text)               -> repaired text, or NULL when nothing to repair
absl::Status RegisterRepairFunctions(sqlite3* db) {
  int rc = sqlite3_create_function_v2(db, "dorset_repaired_message", 2,
                                      SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr,
                                      &RepairedMessageFn, nullptr, nullptr, nullptr);
  if (rc == SQLITE_OK) {
    rc = sqlite3_create_function_v2(db, "dorset_repaired_text", 1,
                                    SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr, &RepairedTextFn,
                                    nullptr, nullptr, nullptr);
  }
  if (rc != SQLITE_OK) {
    return absl::InternalError(
        absl::StrCat("registering the text-repair functions: ", sqlite3_errstr(rc)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status UpgradePreLaneStore(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::exists(path, error)) return absl::OkStatus();  // a new store
  ASSIGN_OR_RETURN(std::unique_ptr<Database> db, Database::Open(path));
  {
    ASSIGN_OR_RETURN(runtime::sqlite::Statement lane,
                     db->Prepare("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND "
                                 "name = 'schema_migrations'"));
    ASSIGN_OR_RETURN(bool row, lane.Step());
    if (row && lane.Int(0) > 0) return absl::OkStatus();  // already on the lane
  }
  ASSIGN_OR_RETURN(int version, db->SchemaVersion());
  if (version == 0) return absl::OkStatus();  // an empty file: the lane creates the schema
  if (version >= static_cast<int>(std::size(kLegacyMigrations))) return absl::OkStatus();
  RETURN_IF_ERROR(RegisterRepairFunctions(db->handle()));
  return db->Migrate(kLegacyMigrations);
}

}  // namespace dorset::registry
