#include "services/registry/storage/copy_plan.h"

#include "registry_migrations.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/sqlite/user_version.h"
#include "services/registry/storage/legacy_sqlite.h"

namespace dorset::registry {

using runtime::storage::CopyPlan;
using Type = runtime::storage::CopyColumn::Type;

namespace {

// As Store::Open: a registry.db of an earlier release gets its own steps (the text repair)
// and then its user_version carried over as lane steps.
absl::Status PrepareSqlite(const std::string& path) {
  RETURN_IF_ERROR(UpgradePreLaneStore(path));
  return runtime::storage::AdoptUserVersion(
      path, migrations::RegistryMigrations(runtime::storage::Engine::kSqlite));
}

}  // namespace

const CopyPlan& RegistryCopyPlan() {
  // import_seen is not copied: an import's scratch table, empty outside its transaction.
  static const CopyPlan* const plan = new CopyPlan{
      .service = "registry",
      .migrations = migrations::RegistryMigrations,
      .prepare_sqlite = PrepareSqlite,
      .open_settings = {},
      .tables =
          {
              {.name = "cluster",
               .columns = {{"id", Type::kText},
                           {"display_name", Type::kText},
                           {"create_time", Type::kInt},
                           {"update_time", Type::kInt}},
               .order_by = "id",
               .identity_column = "",
               .seeded_when = "",
               .read_from = ""},
              {.name = "locality",
               .columns = {{"id", Type::kText},
                           {"display_name", Type::kText},
                           {"cluster_id", Type::kText},
                           {"create_time", Type::kInt},
                           {"update_time", Type::kInt}},
               .order_by = "id",
               .identity_column = "",
               .seeded_when = "",
               .read_from = ""},
              {.name = "locality_assignment",
               .columns = {{"ods_code", Type::kText}, {"locality_id", Type::kText}},
               .order_by = "ods_code",
               .identity_column = "",
               .seeded_when = "",
               .read_from = ""},
              {.name = "practice",
               .columns = {{"ods_code", Type::kText},
                           {"display_name", Type::kText},
                           {"postcode_key", Type::kText},
                           {"status", Type::kInt},
                           {"prescribing_setting", Type::kInt},
                           {"commissioner", Type::kText},
                           {"locality_id", Type::kText},
                           {"list_size", Type::kInt},
                           {"update_time", Type::kInt},
                           {"revision", Type::kInt},
                           {"data", Type::kBlob}},
               .order_by = "ods_code",
               .identity_column = "",
               .seeded_when = "",
               .read_from = ""},
              // Before practice_revision, whose rows name a change.
              {.name = "change",
               .columns = {{"seq", Type::kInt},
                           {"kind", Type::kInt},
                           {"resource", Type::kText},
                           {"commit_time", Type::kInt},
                           {"source", Type::kText},
                           {"actor", Type::kText},
                           {"payload", Type::kBlob}},
               .order_by = "seq",
               .identity_column = "",
               .seeded_when = "",
               .read_from = ""},
              {.name = "practice_revision",
               .columns = {{"ods_code", Type::kText},
                           {"revision", Type::kInt},
                           {"seq", Type::kInt}},
               .order_by = "ods_code, revision",
               .identity_column = "",
               .seeded_when = "",
               .read_from = ""},
              // The feed's counter: the migrations insert its one row (last_seq 0); the copy
              // carries the source's, so the next change continues the source's sequence.
              {.name = "change_sequence",
               .columns = {{"id", Type::kInt}, {"last_seq", Type::kInt}},
               .order_by = "id",
               .identity_column = "",
               .seeded_when = "last_seq = 0",
               .read_from = ""},
              runtime::storage::IdempotencyRecordCopyTable(),
          },
      .checks =
          {
              {.name = "change feed: highest sequence, changes, next sequence after",
               .sql = "SELECT (SELECT COALESCE(MAX(seq), 0) FROM change), "
                      "(SELECT COUNT(*) FROM change), "
                      "(SELECT COALESCE(MAX(last_seq), 0) FROM change_sequence)",
               .columns = 3},
              {.name = "practice revisions: sum, highest, revision rows",
               .sql = "SELECT (SELECT COALESCE(SUM(revision), 0) FROM practice), "
                      "(SELECT COALESCE(MAX(revision), 0) FROM practice), "
                      "(SELECT COUNT(*) FROM practice_revision)",
               .columns = 3},
              {.name = "practices per locality",
               .sql = "SELECT COALESCE(locality_id, ''), COUNT(*) FROM practice "
                      "GROUP BY locality_id ORDER BY 1",
               .columns = 2},
          },
  };
  return *plan;
}

}  // namespace dorset::registry
