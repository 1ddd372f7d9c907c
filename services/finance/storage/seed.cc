#include "services/finance/storage/seed.h"

#include "absl/strings/str_cat.h"
#include "runtime/base/string_view.h"
#include "runtime/status/status_macros.h"
#include "services/finance/money/money.h"
#include "services/finance/storage/schema.h"

namespace dorset::finance {

using runtime::storage::Statement;

const std::vector<SeedProgramme>& SeedProgrammes() {
  static const auto* programmes = new std::vector<SeedProgramme>{
      {"managing-demand",
       "Managing demand together",
       {{"rightcare", "NHS RightCare - reducing unwarranted variation", 28},
        {"secondary-prevention", "Secondary prevention and active management", 27},
        {"outpatients", "Outpatients", 8},
        {"specialised-services", "Specialised services", 20}}},
      {"provider-efficiencies",
       "Provider system efficiencies",
       {{"trust-cips", "Cost improvement plans across all four NHS foundation trusts", 81},
        {"acute-reconfiguration", "Acute hospital reconfiguration", 19}}},
      {"community-reinvestment",
       "Re-investment in community services",
       {{"community-reinvestment", "Re-investment in community services", -16}}},
      {"stretch-target",
       "Health system stretch target",
       {{"stretch-target", "Health system stretch target", 34}}},
      {"national-programmes",
       "Nationally managed programmes",
       {{"national-programmes", "Nationally managed programmes", 28}}},
  };
  return *programmes;
}

namespace {

absl::StatusOr<int64_t> InsertNode(Transaction& tx, const std::string& name, int kind,
                                   std::optional<int64_t> plan, std::optional<int64_t> parent,
                                   std::string_view display_name, int64_t now) {
  ASSIGN_OR_RETURN(
      Statement stmt,
      tx.Prepare("INSERT INTO node(name, kind, plan_id, parent_id, display_name, "
                 "create_micros, update_micros) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id"));
  stmt.Bind(1, name).Bind(2, kind).Bind(3, plan).Bind(4, parent).Bind(5, display_name);
  stmt.Bind(6, now).Bind(7, now);
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return absl::InternalError("INSERT ... RETURNING gave no row");
  return stmt.Int(0);
}

absl::StatusOr<bool> WriteSeedUnlessThere(FinanceStore& store) {
  return store.Write([](Transaction& tx) -> absl::StatusOr<bool> {
    ASSIGN_OR_RETURN(Statement marker, tx.Prepare("SELECT value FROM meta WHERE key = 'seed'"));
    ASSIGN_OR_RETURN(bool seeded, marker.Step());
    if (seeded) return false;
    const int64_t now = NowMicros();
    const std::string plan_name(kSeedPlan);
    ASSIGN_OR_RETURN(int64_t plan,
                     InsertNode(tx, plan_name, kNodePlan, std::nullopt, std::nullopt,
                                "Dorset Sustainability and Transformation Plan", now));
    ASSIGN_OR_RETURN(
        Statement target,
        tx.Prepare("INSERT INTO target(scheme_id, year, amount_pence) VALUES (?, ?, ?)"));
    for (const SeedProgramme& p : SeedProgrammes()) {
      const std::string programme_name = absl::StrCat(plan_name, "/programmes/", ToAbsl(p.id));
      ASSIGN_OR_RETURN(int64_t programme, InsertNode(tx, programme_name, kNodeProgramme, plan, plan,
                                                     p.display_name, now));
      for (const SeedScheme& s : p.schemes) {
        ASSIGN_OR_RETURN(int64_t scheme,
                         InsertNode(tx, absl::StrCat(programme_name, "/schemes/", ToAbsl(s.id)),
                                    kNodeScheme, plan, programme, s.display_name, now));
        ASSIGN_OR_RETURN(int64_t pence, money::Pounds(s.pounds_millions * 1000000));
        target.Reset();
        target.Bind(1, scheme).Bind(2, kSeedYear).Bind(3, pence);
        RETURN_IF_ERROR(target.Run());
      }
    }
    ASSIGN_OR_RETURN(int64_t budget, money::Pounds(1200000000));
    ASSIGN_OR_RETURN(Statement line,
                     tx.Prepare("INSERT INTO budget_line(name, display_name, year, amount_pence, "
                                "scope, illustrative, create_micros, update_micros) VALUES "
                                "('budgetLines/dorset-total-illustrative', ?, ?, ?, '', 1, ?, ?)"));
    line.Bind(1,
              "Dorset health and care budget (illustrative: the source gives only "
              "\"about \xC2\xA3"
              "1.2 billion\")");
    line.Bind(2, kSeedYear).Bind(3, budget).Bind(4, now).Bind(5, now);
    RETURN_IF_ERROR(line.Run());
    ASSIGN_OR_RETURN(Statement mark,
                     tx.Prepare("INSERT INTO meta(key, value) VALUES ('seed', 'dorset-stp-v1')"));
    RETURN_IF_ERROR(mark.Run());
    return true;
  });
}

}  // namespace

absl::StatusOr<bool> LoadSeedOnce(FinanceStore& store) {
  absl::StatusOr<bool> loaded = WriteSeedUnlessThere(store);
  // Replicas starting together on one new PostgreSQL database both find no seed; the one that
  // commits second fails on the first unique name (ALREADY_EXISTS) and, looking again, finds the
  // other's seed (a replica used to exit "cannot start" here: replicas_exactly_once_test).
  if (!loaded.ok() && absl::IsAlreadyExists(loaded.status())) {
    loaded = WriteSeedUnlessThere(store);
  }
  return loaded;
}

}  // namespace dorset::finance
