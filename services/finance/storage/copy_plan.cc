#include "services/finance/storage/copy_plan.h"

#include "finance_migrations.h"
#include "runtime/storage/sqlite/user_version.h"

namespace dorset::finance {

using runtime::storage::CopyColumn;
using runtime::storage::CopyPlan;
using Type = CopyColumn::Type;

namespace {

// As FinanceStore::Open: a finance.db from before the lane kept its version in user_version.
absl::Status PrepareSqlite(const std::string& path) {
  return runtime::storage::AdoptUserVersion(
      path, migrations::FinanceMigrations(runtime::storage::Engine::kSqlite));
}

}  // namespace

const CopyPlan& FinanceCopyPlan() {
  static const CopyPlan* const plan =
      new CopyPlan{
          .service = "finance",
          .migrations = migrations::FinanceMigrations,
          .prepare_sqlite = PrepareSqlite,
          .open_settings = {},
          .tables =
              {
                  // Nodes are never re-parented, so a parent's id is below its children's.
                  {.name = "node",
                   .columns = {{"id", Type::kInt},
                               {"name", Type::kText},
                               {"kind", Type::kInt},
                               {"plan_id", Type::kInt},
                               {"parent_id", Type::kInt},
                               {"display_name", Type::kText},
                               {"state", Type::kInt},
                               {"scope", Type::kText},
                               {"version", Type::kInt},
                               {"create_micros", Type::kInt},
                               {"update_micros", Type::kInt},
                               {"recurrence", Type::kInt},
                               {"maturity", Type::kInt},
                               {"senior_responsible_owner", Type::kText}},
                   .order_by = "id",
                   .identity_column = "id",
                   .seeded_when = "",
                   .read_from = ""},
                  {.name = "target",
                   .columns = {{"scheme_id", Type::kInt},
                               {"year", Type::kInt},
                               {"amount_pence", Type::kInt}},
                   .order_by = "scheme_id, year",
                   .identity_column = "",
                   .seeded_when = "",
                   .read_from = ""},
                  {.name = "budget_line",
                   .columns = {{"id", Type::kInt},
                               {"name", Type::kText},
                               {"display_name", Type::kText},
                               {"year", Type::kInt},
                               {"amount_pence", Type::kInt},
                               {"scope", Type::kText},
                               {"illustrative", Type::kInt},
                               {"version", Type::kInt},
                               {"create_micros", Type::kInt},
                               {"update_micros", Type::kInt}},
                   .order_by = "id",
                   .identity_column = "id",
                   .seeded_when = "",
                   .read_from = ""},
                  // A reversal names an earlier posting, so id order inserts it after.
                  {.name = "posting",
                   .columns = {{"id", Type::kInt},
                               {"scheme_id", Type::kInt},
                               {"year", Type::kInt},
                               {"month", Type::kInt},
                               {"kind", Type::kInt},
                               {"amount_pence", Type::kInt},
                               {"principal", Type::kText},
                               {"create_micros", Type::kInt},
                               {"reason", Type::kText},
                               {"request_id", Type::kText},
                               {"reverses", Type::kInt}},
                   .order_by = "id",
                   .identity_column = "",
                   .seeded_when = "",
                   .read_from = ""},
                  runtime::storage::IdempotencyRecordCopyTable(),
                  {.name = "total",
                   .columns = {{"scheme_id", Type::kInt},
                               {"year", Type::kInt},
                               {"month", Type::kInt},
                               {"kind", Type::kInt},
                               {"amount_pence", Type::kInt}},
                   .order_by = "scheme_id, year, month, kind",
                   .identity_column = "",
                   .seeded_when = "",
                   .read_from = ""},
                  {.name = "meta",
                   .columns = {{"key", Type::kText}, {"value", Type::kText}},
                   .order_by = "key",
                   .identity_column = "",
                   .seeded_when = "",
                   .read_from = ""},
                  // Month-end close and the chain (step 3): copied as they are, so the copy
                  // verifies under the same seal key.
                  {.name = "posting_chain",
                   .columns = {{"posting_id", Type::kInt},
                               {"year", Type::kInt},
                               {"prev_hash", Type::kText},
                               {"hash", Type::kText}},
                   .order_by = "posting_id",
                   .identity_column = "",
                   .seeded_when = "",
                   .read_from = ""},
                  {.name = "period_seal",
                   .columns = {{"id", Type::kInt},
                               {"year", Type::kInt},
                               {"month", Type::kInt},
                               {"action", Type::kText},
                               {"head_posting_id", Type::kInt},
                               {"head_hash", Type::kText},
                               {"posting_count", Type::kInt},
                               {"snapshot_digest", Type::kText},
                               {"principal", Type::kText},
                               {"reason", Type::kText},
                               {"create_micros", Type::kInt},
                               {"signature", Type::kText}},
                   .order_by = "id",
                   .identity_column = "",
                   .seeded_when = "",
                   .read_from = ""},
                  {.name = "closed_report",
                   .columns = {{"seal_id", Type::kInt},
                               {"plan", Type::kText},
                               {"report", Type::kBlob}},
                   .order_by = "seal_id, plan",
                   .identity_column = "",
                   .seeded_when = "",
                   .read_from = ""},
                  {.name = "period",
                   .columns = {{"year", Type::kInt},
                               {"month", Type::kInt},
                               {"state", Type::kInt},
                               {"seal_id", Type::kInt},
                               {"update_micros", Type::kInt}},
                   .order_by = "year, month",
                   .identity_column = "",
                   .seeded_when = "",
                   .read_from = ""},
              },
          .checks =
              {
                  {.name = "ledger totals per scheme and year (pence)",
                   .sql = "SELECT scheme_id, year, SUM(amount_pence) FROM posting "
                          "GROUP BY scheme_id, year ORDER BY scheme_id, year",
                   .columns = 3},
                  {.name = "highest posting id",
                   .sql = "SELECT COALESCE(MAX(id), 0) FROM posting",
                   .columns = 1},
                  {.name = "running totals per scheme and year (pence)",
                   .sql = "SELECT scheme_id, year, SUM(amount_pence) FROM total "
                          "GROUP BY scheme_id, year ORDER BY scheme_id, year",
                   .columns = 3},
              },
      };
  return *plan;
}

}  // namespace dorset::finance
