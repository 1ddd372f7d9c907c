#include "services/finance/seed.h"

#include "absl/strings/str_cat.h"
#include "runtime/base/string_view.h"
#include "runtime/status/status_macros.h"
#include "services/finance/money/money.h"
#include "services/finance/schema.h"

namespace dorset::finance {

using runtime::sqlite::Database;
using runtime::sqlite::Statement;
using runtime::sqlite::Transaction;

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

absl::StatusOr<int64_t> InsertNode(Database& db, const std::string& name, int kind,
                                   std::optional<int64_t> plan, std::optional<int64_t> parent,
                                   std::string_view display_name, int64_t now) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db.Prepare("INSERT INTO node(name, kind, plan_id, parent_id, display_name, "
                              "create_micros, update_micros) VALUES (?, ?, ?, ?, ?, ?, ?)"));
  stmt.Bind(1, name).Bind(2, kind).Bind(3, plan).Bind(4, parent).Bind(5, display_name);
  stmt.Bind(6, now).Bind(7, now);
  RETURN_IF_ERROR(stmt.Run());
  return db.LastInsertRowId();
}

}  // namespace

absl::StatusOr<bool> LoadSeedOnce(FinanceStore& store) {
  return store.WithWriter([](Database& db) -> absl::StatusOr<bool> {
    ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(db));
    ASSIGN_OR_RETURN(Statement marker, db.Prepare("SELECT value FROM meta WHERE key = 'seed'"));
    ASSIGN_OR_RETURN(bool seeded, marker.Step());
    if (seeded) return false;
    const int64_t now = NowMicros();
    const std::string plan_name(kSeedPlan);
    ASSIGN_OR_RETURN(int64_t plan,
                     InsertNode(db, plan_name, kNodePlan, std::nullopt, std::nullopt,
                                "Dorset Sustainability and Transformation Plan", now));
    ASSIGN_OR_RETURN(
        Statement target,
        db.Prepare("INSERT INTO target(scheme_id, year, amount_pence) VALUES (?, ?, ?)"));
    for (const SeedProgramme& p : SeedProgrammes()) {
      const std::string programme_name = absl::StrCat(plan_name, "/programmes/", ToAbsl(p.id));
      ASSIGN_OR_RETURN(int64_t programme, InsertNode(db, programme_name, kNodeProgramme, plan, plan,
                                                     p.display_name, now));
      for (const SeedScheme& s : p.schemes) {
        ASSIGN_OR_RETURN(int64_t scheme,
                         InsertNode(db, absl::StrCat(programme_name, "/schemes/", ToAbsl(s.id)),
                                    kNodeScheme, plan, programme, s.display_name, now));
        ASSIGN_OR_RETURN(int64_t pence, money::Pounds(s.pounds_millions * 1000000));
        target.Reset();
        target.Bind(1, scheme).Bind(2, kSeedYear).Bind(3, pence);
        RETURN_IF_ERROR(target.Run());
      }
    }
    ASSIGN_OR_RETURN(int64_t budget, money::Pounds(1200000000));
    ASSIGN_OR_RETURN(Statement line,
                     db.Prepare("INSERT INTO budget_line(name, display_name, year, amount_pence, "
                                "scope, illustrative, create_micros, update_micros) VALUES "
                                "('budgetLines/dorset-total-illustrative', ?, ?, ?, '', 1, ?, ?)"));
    line.Bind(1,
              "Dorset health and care budget (illustrative: the source gives only "
              "\"about \xC2\xA3"
              "1.2 billion\")");
    line.Bind(2, kSeedYear).Bind(3, budget).Bind(4, now).Bind(5, now);
    RETURN_IF_ERROR(line.Run());
    ASSIGN_OR_RETURN(Statement mark,
                     db.Prepare("INSERT INTO meta(key, value) VALUES ('seed', 'dorset-stp-v1')"));
    RETURN_IF_ERROR(mark.Run());
    RETURN_IF_ERROR(tx.Commit());
    return true;
  });
}

}  // namespace dorset::finance
