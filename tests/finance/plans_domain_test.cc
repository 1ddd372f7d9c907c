// The plan domain (services/finance/domain/plans.h) without gRPC and without protobuf requests:
// the rules of the plan tree and the budget lines over the real storage (storage/plan_rows) on
// each engine (…/sqlite, …/postgres), and the roll-up arithmetic alone.
#include <limits>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "runtime/testing/temp_dir.h"
#include "services/finance/domain/plans.h"
#include "services/finance/posting_input.h"
#include "services/finance/storage/ledger.h"
#include "services/finance/storage/plan_rows.h"
#include "services/finance/storage/store.h"
#include "tests/finance/finance_test_util.h"
#include "tests/runtime/storage/engines.h"

namespace dorset::finance {
namespace {

using runtime::storage::Engine;

constexpr int k2020 = 2020;
constexpr int k2021 = 2021;

// Records built field by field (GCC 12 warns on designated initializers that leave fields out).
RowWindow Window(int64_t limit, std::string after = "") {
  RowWindow w;
  w.after = std::move(after);
  w.limit = limit;
  return w;
}
BudgetLineRecord Line(std::string name, int year, int64_t amount) {
  BudgetLineRecord line;
  line.name = std::move(name);
  line.display_name = "line";
  line.year = year;
  line.amount = amount;
  return line;
}
SchemeEdit EditName(std::string name) {
  SchemeEdit e;
  e.display_name = std::move(name);
  return e;
}
SchemeEdit EditTargets(YearAmounts targets) {
  SchemeEdit e;
  e.targets = std::move(targets);
  return e;
}
SchemeEdit EditScope(std::string scope) {
  SchemeEdit e;
  e.scope = std::move(scope);
  return e;
}
SchemeContribution Contribution(bool closed, YearAmounts targets, YearAmounts actuals) {
  SchemeContribution c;
  c.closed = closed;
  c.targets = std::move(targets);
  c.actuals = std::move(actuals);
  return c;
}

class PlansDomainTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    std::string database;
    DORSET_DATABASE_FOR_ENGINE(GetParam(), database);
    absl::StatusOr<std::unique_ptr<FinanceStore>> store = FinanceStore::Open(database, dir_.path());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    storage_ = std::make_unique<SqlPlanStorage>(*store_);
    plans_ = std::make_unique<Plans>(*storage_);
  }

  // A tree: plan p, programmes p/a and p/b, schemes a/x (2020: 100, 2021: 40), a/y (2020: 250)
  // and b/z (2020: -30, a re-investment).
  void MakeTree() {
    ASSERT_TRUE(plans_->CreatePlan("plans/p", "P").ok());
    ASSERT_TRUE(plans_->CreateProgramme("plans/p", "plans/p/programmes/a", "A").ok());
    ASSERT_TRUE(plans_->CreateProgramme("plans/p", "plans/p/programmes/b", "B").ok());
    ASSERT_TRUE(plans_
                    ->CreateScheme("plans/p/programmes/a", kX, "X", "",
                                   YearAmounts{{k2020, 100}, {k2021, 40}})
                    .ok());
    ASSERT_TRUE(
        plans_->CreateScheme("plans/p/programmes/a", kY, "Y", "localities/poole", {{k2020, 250}})
            .ok());
    ASSERT_TRUE(plans_->CreateScheme("plans/p/programmes/b", kZ, "Z", "", {{k2020, -30}}).ok());
  }

  // ACTUAL postings through the real ledger writer (the running totals the roll-up reads).
  void PostActual(const std::string& scheme, int month, int64_t pence) {
    google::protobuf::RepeatedPtrField<v1::Posting> postings;
    *postings.Add() =
        testing::MakePosting(scheme, "2020-21", month, v1::POSTING_KIND_ACTUAL, pence);
    absl::StatusOr<PostingBatch> batch =
        ParsePostings(absl::StrCat("r", ++requests_), "tester", postings, true);
    ASSERT_TRUE(batch.ok()) << batch.status();
    absl::Status written = store_->Write([&](Transaction& tx) -> absl::Status {
      absl::StatusOr<std::unique_ptr<LedgerWriter>> writer = LedgerWriter::Create(tx);
      if (!writer.ok()) return writer.status();
      return (*writer)->Apply(*batch).status();
    });
    ASSERT_TRUE(written.ok()) << written;
  }

  static constexpr char kX[] = "plans/p/programmes/a/schemes/x";
  static constexpr char kY[] = "plans/p/programmes/a/schemes/y";
  static constexpr char kZ[] = "plans/p/programmes/b/schemes/z";

  dorset::testing::TempDir dir_;
  std::unique_ptr<FinanceStore> store_;
  std::unique_ptr<SqlPlanStorage> storage_;
  std::unique_ptr<Plans> plans_;
  int requests_ = 0;
};

TEST_P(PlansDomainTest, ParentsTargetsAreTheSumsOfTheirSchemes) {
  ASSERT_NO_FATAL_FAILURE(MakeTree());
  absl::StatusOr<NodeRecord> plan = plans_->Get("plans/p", NodeKind::kPlan);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->targets, (YearAmounts{{k2020, 320}, {k2021, 40}}));
  absl::StatusOr<NodeRecord> a = plans_->Get("plans/p/programmes/a", NodeKind::kProgramme);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->targets, (YearAmounts{{k2020, 350}, {k2021, 40}}));
  EXPECT_EQ(plans_->Get("plans/p/programmes/b", NodeKind::kProgramme)->targets,
            (YearAmounts{{k2020, -30}}));
  absl::StatusOr<NodeRecord> y = plans_->Get(kY, NodeKind::kScheme);
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(y->scope, "localities/poole");
  EXPECT_EQ(y->plan_id, plan->id);

  // Names are taken once; parents must exist and be of the right kind; a node of another kind
  // is not found.
  EXPECT_EQ(plans_->CreatePlan("plans/p", "again").status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(plans_->CreateProgramme("plans/none", "plans/none/programmes/a", "A").status().code(),
            absl::StatusCode::kNotFound);
  absl::StatusOr<NodeRecord> under_plan =
      plans_->CreateScheme("plans/p", "plans/p/schemes/w", "W", "", {});
  EXPECT_EQ(under_plan.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(under_plan.status().message().find("Programme"), std::string::npos)
      << under_plan.status();
  EXPECT_EQ(plans_->Get(kX, NodeKind::kProgramme).status().code(), absl::StatusCode::kNotFound);
}

TEST_P(PlansDomainTest, AClosedSchemeCountsWhatItDeliveredAndRefusesEdits) {
  ASSERT_NO_FATAL_FAILURE(MakeTree());
  ASSERT_NO_FATAL_FAILURE(PostActual(kY, 1, 70));
  ASSERT_NO_FATAL_FAILURE(PostActual(kY, 2, 5));
  absl::StatusOr<NodeRecord> y = plans_->Get(kY, NodeKind::kScheme);
  ASSERT_TRUE(y.ok()) << y.status();
  // A stale version is refused before anything changes.
  EXPECT_EQ(plans_->CloseScheme(kY, y->version + 1).status().code(), absl::StatusCode::kAborted);
  absl::StatusOr<NodeRecord> closed = plans_->CloseScheme(kY, y->version);
  ASSERT_TRUE(closed.ok()) << closed.status();
  EXPECT_TRUE(closed->closed);
  EXPECT_EQ(closed->version, y->version + 1);
  // Closing again changes nothing.
  EXPECT_EQ(plans_->CloseScheme(kY, std::nullopt)->version, closed->version);
  // y now contributes its 75 delivered instead of its 250 target: 100 + 75 - 30.
  EXPECT_EQ(plans_->Get("plans/p", NodeKind::kPlan)->targets,
            (YearAmounts{{k2020, 145}, {k2021, 40}}));
  absl::StatusOr<NodeRecord> edit = plans_->UpdateScheme(kY, std::nullopt, EditName("Y2"));
  EXPECT_EQ(edit.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(plans_->Get(kY, NodeKind::kScheme)->display_name, "Y");
}

TEST_P(PlansDomainTest, UpdatesChangeOnlyWhatTheEditSetsAndNeedTheCurrentVersion) {
  ASSERT_NO_FATAL_FAILURE(MakeTree());
  absl::StatusOr<NodeRecord> x = plans_->Get(kX, NodeKind::kScheme);
  ASSERT_TRUE(x.ok()) << x.status();
  absl::StatusOr<NodeRecord> updated =
      plans_->UpdateScheme(kX, x->version, EditTargets({{k2021, 99}}));
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->display_name, "X");
  EXPECT_EQ(updated->targets, (YearAmounts{{k2021, 99}}));
  EXPECT_EQ(updated->version, x->version + 1);
  EXPECT_EQ(plans_->UpdateScheme(kX, x->version, EditScope("clusters/east")).status().code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(
      plans_->UpdateScheme("plans/p/programmes/a/schemes/none", std::nullopt, {}).status().code(),
      absl::StatusCode::kNotFound);

  // Budget lines: the same version rule; a taken name; the year's lines by scope.
  absl::StatusOr<BudgetLineRecord> line =
      plans_->CreateBudgetLine(Line("budgetLines/gp", k2020, 1000));
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(plans_->CreateBudgetLine(Line("budgetLines/gp", k2020, 5)).status().code(),
            absl::StatusCode::kAlreadyExists);
  absl::StatusOr<BudgetLineRecord> moved = plans_->UpdateBudgetLine(
      "budgetLines/gp", line->version, BudgetLineEdit{{}, {}, "localities/poole", {}});
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_EQ(moved->amount, 1000);
  EXPECT_EQ(plans_->UpdateBudgetLine("budgetLines/gp", line->version, BudgetLineEdit{{}, 1, {}, {}})
                .status()
                .code(),
            absl::StatusCode::kAborted);
  ASSERT_TRUE(plans_->CreateBudgetLine(Line("budgetLines/other", k2021, 7)).ok());
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> by_scope =
      plans_->BudgetByScope(k2020);
  ASSERT_TRUE(by_scope.ok()) << by_scope.status();
  EXPECT_EQ(*by_scope, (std::vector<std::pair<std::string, int64_t>>{{"localities/poole", 1000}}));
  EXPECT_EQ(plans_->GetBudgetLine("budgetLines/none").status().code(), absl::StatusCode::kNotFound);
}

TEST_P(PlansDomainTest, SchemeAttributesAreStoredAndEditedOneByOne) {
  ASSERT_NO_FATAL_FAILURE(MakeTree());
  SchemeAttributes attributes;
  attributes.recurrence = Recurrence::kNonRecurrent;
  attributes.maturity = Maturity::kOpportunity;
  attributes.senior_responsible_owner = "Director of Finance";
  absl::StatusOr<NodeRecord> w = plans_->CreateScheme(
      "plans/p/programmes/b", "plans/p/programmes/b/schemes/w", "W", "", {}, attributes);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->attributes.recurrence, Recurrence::kNonRecurrent);
  EXPECT_EQ(w->attributes.maturity, Maturity::kOpportunity);
  EXPECT_EQ(w->attributes.senior_responsible_owner, "Director of Finance");
  SchemeEdit edit;
  edit.maturity = Maturity::kUnidentified;
  absl::StatusOr<NodeRecord> updated = plans_->UpdateScheme(w->name, w->version, edit);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->attributes.maturity, Maturity::kUnidentified);
  EXPECT_EQ(updated->attributes.recurrence, Recurrence::kNonRecurrent);  // not in the edit
  EXPECT_EQ(updated->attributes.senior_responsible_owner, "Director of Finance");
  // Schemes created without attributes have none recorded.
  EXPECT_EQ(plans_->Get(kX, NodeKind::kScheme)->attributes.maturity, Maturity::kUnspecified);
}

TEST_P(PlansDomainTest, ListsAreWindowsInNameOrder) {
  ASSERT_NO_FATAL_FAILURE(MakeTree());
  absl::StatusOr<std::vector<NodeRecord>> first = plans_->ListSchemes("plans/p", Window(2));
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].name, kX);
  EXPECT_EQ((*first)[1].name, kY);
  absl::StatusOr<std::vector<NodeRecord>> rest =
      plans_->ListSchemes("plans/p", Window(2, (*first)[1].name));
  ASSERT_TRUE(rest.ok()) << rest.status();
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ((*rest)[0].name, kZ);
  EXPECT_EQ((*rest)[0].targets, (YearAmounts{{k2020, -30}}));
  EXPECT_EQ(plans_->ListSchemes("plans/p/programmes/b", Window(10))->size(), 1u);
  EXPECT_EQ(plans_->ListSchemes("plans/none", Window(10)).status().code(),
            absl::StatusCode::kNotFound);
  absl::StatusOr<std::vector<NodeRecord>> programmes =
      plans_->ListProgrammes("plans/p", Window(10));
  ASSERT_TRUE(programmes.ok()) << programmes.status();
  ASSERT_EQ(programmes->size(), 2u);
  EXPECT_EQ((*programmes)[1].targets, (YearAmounts{{k2020, -30}}));  // derived in lists too
  EXPECT_EQ(plans_->ListPlans(Window(10))->size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Engines, PlansDomainTest,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const auto& info) {
                           return std::string(runtime::storage::EngineName(info.param));
                         });

// The roll-up rule alone.
TEST(RollUpTargetsTest, OpenSchemesCountTargetsClosedOnesActualsChecked) {
  const std::vector<SchemeContribution> schemes = {
      Contribution(false, {{k2020, 10}, {k2021, 1}}, {{k2020, 999}}),
      Contribution(true, {{k2020, 500}}, {{k2020, 7}}),
  };
  absl::StatusOr<YearAmounts> sum = RollUpTargets(schemes);
  ASSERT_TRUE(sum.ok()) << sum.status();
  EXPECT_EQ(*sum, (YearAmounts{{k2020, 17}, {k2021, 1}}));
  const int64_t max = std::numeric_limits<int64_t>::max();
  EXPECT_FALSE(RollUpTargets(
                   {Contribution(false, {{k2020, max}}, {}), Contribution(false, {{k2020, 1}}, {})})
                   .ok());
}

}  // namespace
}  // namespace dorset::finance
