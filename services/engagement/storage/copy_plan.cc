#include "services/engagement/storage/copy_plan.h"

#include "engagement_migrations.h"
#include "runtime/storage/sqlite/user_version.h"

namespace dorset::engagement {

using runtime::storage::CopyPlan;
using Type = runtime::storage::CopyColumn::Type;

namespace {

// As EngagementStore::Open: an engagement.db from before the lane kept its version (1-3) in
// PRAGMA user_version.
absl::Status PrepareSqlite(const std::string& path) {
  return runtime::storage::AdoptUserVersion(
      path, migrations::EngagementMigrations(runtime::storage::Engine::kSqlite));
}

// As the service opens its store: it holds personal data (EngagementStore::Open).
runtime::storage::OpenSettings SecureDelete() {
  runtime::storage::OpenSettings settings;
  settings.sqlite_secure_delete = true;
  return settings;
}

}  // namespace

const CopyPlan& EngagementCopyPlan() {
  static const CopyPlan* const plan =
      new CopyPlan{
          .service = "engagement",
          .migrations = migrations::EngagementMigrations,
          .prepare_sqlite = PrepareSqlite,
          .open_settings = SecureDelete(),
          .tables =
              {
                  {.name = "stakeholder",
                   .columns = {{"id", Type::kText},
                               {"kind", Type::kInt},
                               {"display_name", Type::kText},
                               {"organisation", Type::kText},
                               {"email", Type::kText},
                               {"phone", Type::kText},
                               {"postal_address", Type::kText},
                               {"contact_consent", Type::kInt},
                               {"contact_consent_time", Type::kInt},
                               {"publish_consent", Type::kInt},
                               {"publish_consent_time", Type::kInt},
                               {"locality", Type::kText},
                               {"erased", Type::kInt},
                               {"erase_time", Type::kInt},
                               {"create_time", Type::kInt},
                               {"update_time", Type::kInt},
                               {"version", Type::kInt}},
                   .order_by = "id",
                   .identity_column = "",
                   .seeded_when = "",
                   .read_from = ""},
                  {.name = "activity",
                   .columns = {{"id", Type::kText},
                               {"kind", Type::kInt},
                               {"title", Type::kText},
                               {"purpose", Type::kText},
                               {"localities", Type::kText},
                               {"finance_scheme", Type::kText},
                               {"state", Type::kInt},
                               {"window_start", Type::kInt},
                               {"window_end", Type::kInt},
                               {"open_time", Type::kInt},
                               {"close_time", Type::kInt},
                               {"publish_time", Type::kInt},
                               {"outcome_summary", Type::kText},
                               {"reported_participants", Type::kInt},
                               {"reported_source", Type::kText},
                               {"create_time", Type::kInt},
                               {"update_time", Type::kInt},
                               {"version", Type::kInt},
                               {"allowed_practices", Type::kText}},
                   .order_by = "id",
                   .identity_column = "",
                   .seeded_when = "",
                   .read_from = ""},
                  {.name = "theme",
                   .columns = {{"activity_id", Type::kText},
                               {"id", Type::kText},
                               {"display_name", Type::kText},
                               {"description", Type::kText},
                               {"create_time", Type::kInt},
                               {"update_time", Type::kInt},
                               {"version", Type::kInt}},
                   .order_by = "activity_id, id",
                   .identity_column = "",
                   .seeded_when = "",
                   .read_from = ""},
                  {.name = "response",
                   .columns = {{"id", Type::kInt},
                               {"activity_id", Type::kText},
                               {"stakeholder_id", Type::kText},
                               {"text", Type::kText},
                               {"channel", Type::kInt},
                               {"locality", Type::kText},
                               {"practice", Type::kText},
                               {"themes", Type::kText},
                               {"sentiment", Type::kInt},
                               {"publish_consent", Type::kInt},
                               {"anonymised", Type::kInt},
                               {"create_time", Type::kInt},
                               {"update_time", Type::kInt},
                               {"version", Type::kInt},
                               {"theme_assignments", Type::kText}},
                   .order_by = "id",
                   .identity_column = "id",
                   .seeded_when = "",
                   .read_from = ""},
                  {.name = "decision",
                   .columns = {{"activity_id", Type::kText},
                               {"id", Type::kText},
                               {"summary", Type::kText},
                               {"rationale", Type::kText},
                               {"themes", Type::kText},
                               {"responses", Type::kText},
                               {"decided_by", Type::kText},
                               {"decide_time", Type::kInt},
                               {"published", Type::kInt},
                               {"create_time", Type::kInt},
                               {"update_time", Type::kInt},
                               {"version", Type::kInt}},
                   .order_by = "activity_id, id",
                   .identity_column = "",
                   .seeded_when = "",
                   .read_from = ""},
                  {.name = "delivery_change",
                   .columns = {{"activity_id", Type::kText},
                               {"decision_id", Type::kText},
                               {"seq", Type::kInt},
                               {"delivery", Type::kText},
                               {"note", Type::kText}},
                   .order_by = "activity_id, decision_id, seq",
                   .identity_column = "",
                   .seeded_when = "",
                   .read_from = ""},
                  {.name = "theme_coding",
                   .columns = {{"activity_id", Type::kText},
                               {"seq", Type::kInt},
                               {"coding", Type::kText}},
                   .order_by = "activity_id, seq",
                   .identity_column = "",
                   .seeded_when = "",
                   .read_from = ""},
                  {.name = "response_count",
                   .columns = {{"activity_id", Type::kText},
                               {"dimension", Type::kText},
                               {"key", Type::kText},
                               {"n", Type::kInt}},
                   .order_by = "activity_id, dimension, key",
                   .identity_column = "",
                   .seeded_when = "",
                   .read_from = ""},
                  runtime::storage::IdempotencyRecordCopyTable(),
              },
          .checks =
              {
                  {.name = "response counters per activity and dimension",
                   .sql = "SELECT activity_id, dimension, SUM(n) FROM response_count "
                          "GROUP BY activity_id, dimension ORDER BY activity_id, dimension",
                   .columns = 3},
                  {.name = "responses per activity",
                   .sql = "SELECT activity_id, COUNT(*), SUM(sentiment), SUM(anonymised) "
                          "FROM response GROUP BY activity_id ORDER BY activity_id",
                   .columns = 4},
                  {.name = "highest response id",
                   .sql = "SELECT COALESCE(MAX(id), 0) FROM response",
                   .columns = 1},
              },
      };
  return *plan;
}

}  // namespace dorset::engagement
