// Issue 11 items 7 and 8 over real gRPC and a real SQLite store: amounts beyond the documented
// bounds (services/finance/limits.h) are refused with INVALID_ARGUMENT naming the field and
// ErrorInfo reason AMOUNT_LIMIT_EXCEEDED, so no sequence of accepted postings can break a
// report; and a closed scheme is settled at what it delivered in every parent figure.
#include "services/finance/limits.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "runtime/server/service_host.h"
#include "runtime/sqlite/database.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_host.h"
#include "services/finance/finance_module.h"
#include "tests/finance/finance_test_util.h"

namespace dorset::finance {
namespace {

using testing::ErrorReason;
using testing::MakePosting;
using testing::Reversal;
using testing::ViolationField;

constexpr char kStp[] = "plans/dorset-stp";
constexpr int64_t kPlanPence = 22'900'000'000;  // the seeded £229m
constexpr int64_t kBound = 10'000'000'000'000;  // 10^13, documented in docs/finance.md

class FinanceLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto host =
        runtime::ServiceHost::Start(dorset::testing::TestServerConfig("finance", dir_.path()),
                                    std::make_unique<FinanceModule>());
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = *std::move(host);
    stub_ = v1::FinanceService::NewStub(dorset::testing::LocalChannel(host_->grpc_port()));
  }

  grpc::Status Post(const std::string& request_id, const v1::Posting& posting,
                    v1::Posting* out = nullptr) {
    grpc::ClientContext context;
    v1::CreatePostingRequest request;
    request.set_request_id(request_id);
    *request.mutable_posting() = posting;
    v1::Posting response;
    grpc::Status status = stub_->CreatePosting(&context, request, &response);
    if (out != nullptr) *out = response;
    return status;
  }

  grpc::Status Batch(const std::string& request_id, const std::vector<v1::Posting>& postings) {
    grpc::ClientContext context;
    v1::BatchCreatePostingsRequest request;
    request.set_request_id(request_id);
    for (const auto& p : postings) *request.add_postings() = p;
    v1::BatchCreatePostingsResponse response;
    return stub_->BatchCreatePostings(&context, request, &response);
  }

  grpc::Status Report(const std::string& year, int month, v1::Report* out) {
    grpc::ClientContext context;
    v1::GetReportRequest request;
    request.set_name(absl::StrCat(kStp, "/report"));
    request.set_financial_year(year);
    request.set_month(month);
    return stub_->GetReport(&context, request, out);
  }

  grpc::Status Gap(v1::GapTrajectory* out) {
    grpc::ClientContext context;
    v1::GetGapTrajectoryRequest request;
    request.set_name(absl::StrCat(kStp, "/gapTrajectory"));
    return stub_->GetGapTrajectory(&context, request, out);
  }

  // Every month's report of `year` and the gap trajectory answer OK.
  void ExpectReportsWork(const std::string& year) {
    for (int month = 1; month <= 12; ++month) {
      v1::Report report;
      grpc::Status status = Report(year, month, &report);
      EXPECT_TRUE(status.ok()) << year << " M" << month << ": " << status.error_message();
    }
    v1::GapTrajectory gap;
    grpc::Status status = Gap(&gap);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }

  int64_t PlanTarget(const std::string& year) {
    grpc::ClientContext context;
    v1::GetPlanRequest request;
    request.set_name(kStp);
    v1::Plan plan;
    grpc::Status status = stub_->GetPlan(&context, request, &plan);
    EXPECT_TRUE(status.ok()) << status.error_message();
    for (const auto& t : plan.targets()) {
      if (t.financial_year() == year) return t.amount().pence();
    }
    return 0;
  }

  v1::Scheme CreateScheme(const std::string& programme, const std::string& id,
                          const std::string& year, int64_t target, grpc::Status* status) {
    grpc::ClientContext context;
    v1::CreateSchemeRequest request;
    request.set_parent(absl::StrCat(kStp, "/programmes/", programme));
    request.set_scheme_id(id);
    request.mutable_scheme()->set_display_name(id);
    v1::YearAmount* t = request.mutable_scheme()->add_targets();
    t->set_financial_year(year);
    t->mutable_amount()->set_pence(target);
    v1::Scheme scheme;
    *status = stub_->CreateScheme(&context, request, &scheme);
    return scheme;
  }

  grpc::Status Close(const std::string& scheme) {
    grpc::ClientContext context;
    v1::CloseSchemeRequest request;
    request.set_name(scheme);
    v1::Scheme closed;
    return stub_->CloseScheme(&context, request, &closed);
  }

  static const v1::ReportLine& Line(const v1::Report& report, const std::string& node) {
    for (const auto& line : report.lines()) {
      if (line.node() == node) return line;
    }
    static const v1::ReportLine kNone;
    ADD_FAILURE() << "no line " << node;
    return kNone;
  }

  static void ExpectLimitRefusal(const grpc::Status& status, const std::string& field) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
    EXPECT_EQ(ViolationField(status), field) << status.error_message();
    EXPECT_EQ(ErrorReason(status), "AMOUNT_LIMIT_EXCEEDED") << status.error_message();
  }

  dorset::testing::TempDir dir_;
  std::unique_ptr<runtime::ServiceHost> host_;
  std::unique_ptr<v1::FinanceService::Stub> stub_;
};

const std::string kRightcare = absl::StrCat(kStp, "/programmes/managing-demand/schemes/rightcare");
const std::string kTrustCips =
    absl::StrCat(kStp, "/programmes/provider-efficiencies/schemes/trust-cips");

TEST_F(FinanceLimitsTest, TheIssuesAttacksAreRefusedAndReportsKeepWorking) {
  static_assert(kBound == kMaxPostingPence && kBound == kMaxTotalPence);
  // Attack 1: one posting of 2^63-1.
  ExpectLimitRefusal(
      Post("max", MakePosting(kRightcare, "2020-21", 1, v1::POSTING_KIND_ACTUAL, INT64_MAX)),
      "posting.amount");
  ExpectLimitRefusal(
      Post("min", MakePosting(kRightcare, "2020-21", 1, v1::POSTING_KIND_ACTUAL, INT64_MIN)),
      "posting.amount");
  // Attack 2: two postings of 2^62 in different months (and schemes).
  const int64_t two_62 = int64_t{1} << 62;
  ExpectLimitRefusal(
      Post("a", MakePosting(kRightcare, "2020-21", 1, v1::POSTING_KIND_ACTUAL, two_62)),
      "posting.amount");
  ExpectLimitRefusal(
      Post("b", MakePosting(kTrustCips, "2020-21", 2, v1::POSTING_KIND_ACTUAL, two_62)),
      "posting.amount");
  // The same attack by many bounded postings: the running monthly total is bounded too.
  ASSERT_TRUE(
      Post("c", MakePosting(kRightcare, "2020-21", 3, v1::POSTING_KIND_ACTUAL, kBound)).ok());
  ExpectLimitRefusal(Post("d", MakePosting(kRightcare, "2020-21", 3, v1::POSTING_KIND_ACTUAL, 1)),
                     "posting.amount");
  // In a batch, the refusal names the index and nothing is posted.
  grpc::Status batch =
      Batch("e", {MakePosting(kTrustCips, "2020-21", 4, v1::POSTING_KIND_ACTUAL, kBound),
                  MakePosting(kTrustCips, "2020-21", 4, v1::POSTING_KIND_ACTUAL, kBound)});
  ExpectLimitRefusal(batch, "postings[1].amount");
  // Decimal text beyond the bound (and beyond int64) names amount_decimal.
  v1::Posting decimal = MakePosting(kRightcare, "2020-21", 5, v1::POSTING_KIND_ACTUAL, 0);
  decimal.clear_amount();
  decimal.set_amount_decimal("100000000000.01");
  ExpectLimitRefusal(Post("f", decimal), "posting.amount_decimal");
  decimal.set_amount_decimal("100000000000000000");
  ExpectLimitRefusal(Post("g", decimal), "posting.amount_decimal");
  ExpectReportsWork("2020-21");
  v1::Report report;
  ASSERT_TRUE(Report("2020-21", 12, &report).ok());
  EXPECT_EQ(Line(report, kStp).ytd_actual().pence(), kBound);  // only posting "c"
}

TEST_F(FinanceLimitsTest, BoundaryValuesAreAcceptedAndEveryTotalAtTheBoundStillReports) {
  // Exactly the bound, both signs, as pence and as decimal text.
  ASSERT_TRUE(
      Post("p", MakePosting(kRightcare, "2019-20", 1, v1::POSTING_KIND_ACTUAL, kBound)).ok());
  ASSERT_TRUE(
      Post("n", MakePosting(kRightcare, "2019-20", 2, v1::POSTING_KIND_ACTUAL, -kBound)).ok());
  v1::Posting decimal = MakePosting(kRightcare, "2019-20", 3, v1::POSTING_KIND_ACTUAL, 0);
  decimal.clear_amount();
  decimal.set_amount_decimal("-100000000000.00");
  v1::Posting posted;
  ASSERT_TRUE(Post("d", decimal, &posted).ok());
  EXPECT_EQ(posted.amount().pence(), -kBound);
  // A total at the bound moves back freely: reversing, and posting the other way.
  ASSERT_TRUE(Post("r", Reversal(posted.name(), "keyed twice")).ok());
  ASSERT_TRUE(
      Post("back", MakePosting(kRightcare, "2019-20", 1, v1::POSTING_KIND_ACTUAL, -1)).ok());
  ASSERT_TRUE(Post("up", MakePosting(kRightcare, "2019-20", 1, v1::POSTING_KIND_ACTUAL, 1)).ok());

  // Every scheme of the seeded plan at the bound in every month and kind of 2018-19 (one
  // batch per scheme), targets at the bound: the largest figures the bounds allow for this
  // plan, and every report still answers with exact sums.
  const std::vector<std::string> schemes = {
      kRightcare, kTrustCips,
      absl::StrCat(kStp, "/programmes/stretch-target/schemes/stretch-target")};
  for (size_t i = 0; i < schemes.size(); ++i) {
    std::vector<v1::Posting> postings;
    for (int month = 1; month <= 12; ++month) {
      for (v1::PostingKind kind :
           {v1::POSTING_KIND_PLAN, v1::POSTING_KIND_ACTUAL, v1::POSTING_KIND_FORECAST}) {
        postings.push_back(MakePosting(schemes[i], "2018-19", month, kind, kBound));
      }
    }
    grpc::Status status = Batch(absl::StrCat("full-", i), postings);
    ASSERT_TRUE(status.ok()) << status.error_message();
    grpc::ClientContext context;
    v1::UpdateSchemeRequest update;
    update.mutable_scheme()->set_name(schemes[i]);
    v1::YearAmount* t = update.mutable_scheme()->add_targets();
    t->set_financial_year("2018-19");
    t->mutable_amount()->set_pence(-kBound);
    update.mutable_update_mask()->add_paths("targets");
    v1::Scheme updated;
    status = stub_->UpdateScheme(&context, update, &updated);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  ExpectReportsWork("2018-19");
  v1::Report report;
  ASSERT_TRUE(Report("2018-19", 6, &report).ok());
  const v1::ReportLine& plan = Line(report, kStp);
  EXPECT_EQ(plan.ytd_actual().pence(), 3 * 6 * kBound);
  EXPECT_EQ(plan.forecast_outturn().pence(), 3 * 12 * kBound);
  EXPECT_EQ(plan.outturn_variance().pence(), 3 * 12 * kBound + 3 * kBound);
  EXPECT_EQ(plan.rag(), v1::RAG_GREEN);
  v1::GapTrajectory gap;
  ASSERT_TRUE(Gap(&gap).ok());
  ASSERT_EQ(gap.years_size(), 5);
  EXPECT_EQ(gap.years(2).financial_year(), "2018-19");
  EXPECT_EQ(gap.years(2).gap().pence(), -3 * kBound);
}

TEST_F(FinanceLimitsTest, TargetsAndBudgetLinesAreBoundedToo) {
  grpc::Status status;
  CreateScheme("managing-demand", "huge", "2020-21", INT64_MAX, &status);
  ExpectLimitRefusal(status, "scheme.targets[0].amount");
  CreateScheme("managing-demand", "edge", "2020-21", -kBound, &status);
  EXPECT_TRUE(status.ok()) << status.error_message();

  grpc::ClientContext c1;
  v1::CreateBudgetLineRequest line;
  line.set_budget_line_id("huge");
  line.mutable_budget_line()->set_display_name("huge");
  line.mutable_budget_line()->set_financial_year("2020-21");
  line.mutable_budget_line()->mutable_amount()->set_pence(kBound + 1);
  v1::BudgetLine created;
  ExpectLimitRefusal(stub_->CreateBudgetLine(&c1, line, &created), "budget_line.amount");
  grpc::ClientContext c2;
  line.mutable_budget_line()->mutable_amount()->set_pence(kBound);
  ASSERT_TRUE(stub_->CreateBudgetLine(&c2, line, &created).ok());
  grpc::ClientContext c3;
  v1::UpdateBudgetLineRequest update;
  update.mutable_budget_line()->set_name(created.name());
  update.mutable_budget_line()->mutable_amount()->set_pence(INT64_MIN);
  update.mutable_update_mask()->add_paths("amount");
  ExpectLimitRefusal(stub_->UpdateBudgetLine(&c3, update, &created), "budget_line.amount");
  ExpectReportsWork("2020-21");
}

// A store written before the bounds may hold totals beyond them (written here straight into
// SQLite): reports say OUT_OF_RANGE rather than a wrong figure, nothing may push such a total
// further out, and reversing the offending postings repairs the store.
TEST_F(FinanceLimitsTest, AStoreFromBeforeTheBoundsCanBeRepairedByReversals) {
  host_.reset();
  {
    auto db = runtime::sqlite::Database::Open(absl::StrCat(dir_.path(), "/finance.db"));
    ASSERT_TRUE(db.ok()) << db.status();
    for (const std::string& scheme : {kRightcare, kTrustCips}) {
      const std::string where = absl::StrCat(" FROM node WHERE name = '", scheme, "'");
      ASSERT_TRUE((*db)
                      ->Exec(absl::StrCat("INSERT INTO posting(scheme_id, year, month, kind, "
                                          "amount_pence, principal, create_micros, reason, "
                                          "request_id) SELECT id, 2020, 1, 2, ",
                                          INT64_MAX, ", 'legacy', 0, 'legacy', 'legacy'", where))
                      .ok());
      ASSERT_TRUE((*db)
                      ->Exec(absl::StrCat("INSERT INTO total(scheme_id, year, month, kind, "
                                          "amount_pence) SELECT id, 2020, 1, 2, ",
                                          INT64_MAX, where))
                      .ok());
    }
  }
  SetUp();
  v1::Report report;
  EXPECT_EQ(Report("2020-21", 1, &report).error_code(), grpc::StatusCode::OUT_OF_RANGE);
  ExpectLimitRefusal(Post("up", MakePosting(kRightcare, "2020-21", 1, v1::POSTING_KIND_ACTUAL, 1)),
                     "posting.amount");
  ASSERT_TRUE(
      Post("down", MakePosting(kRightcare, "2020-21", 1, v1::POSTING_KIND_ACTUAL, -1)).ok());
  ASSERT_TRUE(Post("fix-1", Reversal("postings/1", "legacy overflow")).ok());
  ASSERT_TRUE(Post("fix-2", Reversal("postings/2", "legacy overflow")).ok());
  ExpectReportsWork("2020-21");
  ASSERT_TRUE(Report("2020-21", 1, &report).ok());
  EXPECT_EQ(Line(report, kStp).ytd_actual().pence(), -1);
}

// Item 8: a closed scheme is settled at what it delivered.
TEST_F(FinanceLimitsTest, AClosedSchemeWithNothingDeliveredLeavesThePlanTotal) {
  ASSERT_EQ(PlanTarget("2020-21"), kPlanPence);
  grpc::Status status;
  const v1::Scheme pound = CreateScheme("managing-demand", "one-pound", "2020-21", 100, &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(PlanTarget("2020-21"), kPlanPence + 100);
  ASSERT_TRUE(Close(pound.name()).ok());
  EXPECT_EQ(PlanTarget("2020-21"), kPlanPence);  // the issue saw £229,000,001

  v1::Report report;
  ASSERT_TRUE(Report("2020-21", 6, &report).ok());
  EXPECT_EQ(Line(report, kStp).annual_target().pence(), kPlanPence);
  // Its own line keeps its target as set, marked closed.
  EXPECT_TRUE(Line(report, pound.name()).closed());
  EXPECT_EQ(Line(report, pound.name()).annual_target().pence(), 100);
  v1::GapTrajectory gap;
  ASSERT_TRUE(Gap(&gap).ok());
  EXPECT_EQ(gap.years(4).financial_year(), "2020-21");
  EXPECT_EQ(gap.years(4).gap().pence(), kPlanPence);
}

TEST_F(FinanceLimitsTest, AClosedSchemeContributesWhatItDeliveredAndNoGap) {
  grpc::Status status;
  const v1::Scheme pilot = CreateScheme("managing-demand", "pilot", "2020-21", 10'000, &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  // Planned 1,000 a month; delivered 600 in M1 and 300 in M2; forecast 500 for M6.
  std::vector<v1::Posting> postings;
  for (int month = 1; month <= 12; ++month) {
    postings.push_back(MakePosting(pilot.name(), "2020-21", month, v1::POSTING_KIND_PLAN, 1'000));
  }
  postings.push_back(MakePosting(pilot.name(), "2020-21", 1, v1::POSTING_KIND_ACTUAL, 600));
  postings.push_back(MakePosting(pilot.name(), "2020-21", 2, v1::POSTING_KIND_ACTUAL, 300));
  postings.push_back(MakePosting(pilot.name(), "2020-21", 6, v1::POSTING_KIND_FORECAST, 500));
  ASSERT_TRUE(Batch("pilot", postings).ok());

  v1::Report open;
  ASSERT_TRUE(Report("2020-21", 3, &open).ok());
  const v1::ReportLine plan_open = Line(open, kStp);
  EXPECT_EQ(plan_open.annual_target().pence(), kPlanPence + 10'000);
  EXPECT_EQ(plan_open.ytd_plan().pence(), 3'000);
  EXPECT_EQ(plan_open.ytd_actual().pence(), 900);
  EXPECT_EQ(plan_open.forecast_outturn().pence(), 1'400);

  ASSERT_TRUE(Close(pilot.name()).ok());
  EXPECT_EQ(PlanTarget("2020-21"), kPlanPence + 900);
  v1::Report closed;
  ASSERT_TRUE(Report("2020-21", 3, &closed).ok());
  const v1::ReportLine& plan = Line(closed, kStp);
  const v1::ReportLine& programme = Line(closed, absl::StrCat(kStp, "/programmes/managing-demand"));
  EXPECT_EQ(plan.annual_target().pence(), kPlanPence + 900);
  EXPECT_EQ(plan.ytd_plan().pence(), 900);  // its phasing is replaced by what it delivered
  EXPECT_EQ(plan.ytd_actual().pence(), 900);
  EXPECT_EQ(plan.forecast_outturn().pence(), 900);  // no forecast from a closed scheme
  EXPECT_EQ(plan.outturn_variance().pence(), 900 - (kPlanPence + 900));
  EXPECT_EQ(programme.annual_target().pence(), 8'300'000'000 + 900);
  EXPECT_EQ(plan.delivery_bp(), 10000);
  // The scheme's own line is as recorded.
  const v1::ReportLine& own = Line(closed, pilot.name());
  EXPECT_TRUE(own.closed());
  EXPECT_EQ(own.annual_target().pence(), 10'000);
  EXPECT_EQ(own.ytd_plan().pence(), 3'000);
  EXPECT_EQ(own.forecast_outturn().pence(), 1'400);
  EXPECT_EQ(own.rag(), v1::RAG_RED);

  v1::GapTrajectory gap;
  ASSERT_TRUE(Gap(&gap).ok());
  EXPECT_EQ(gap.as_of_financial_year(), "2020-21");
  EXPECT_EQ(gap.as_of_month(), 2);
  EXPECT_EQ(gap.years(4).gap().pence(), kPlanPence + 900);
  EXPECT_EQ(gap.years(4).actual().pence(), 900);
  EXPECT_EQ(gap.years(4).forecast_delivery().pence(), 900);
  EXPECT_EQ(gap.years(4).unmitigated().pence(), kPlanPence);  // closing it added no gap

  // And it takes no more postings.
  EXPECT_EQ(Post("late", MakePosting(pilot.name(), "2020-21", 3, v1::POSTING_KIND_ACTUAL, 1))
                .error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

}  // namespace
}  // namespace dorset::finance
