// Scheme attributes, grouped reports and gap trajectories, the unidentified share of the gap,
// and the forecast-quality flags through the API on each engine (…/sqlite, …/postgres), on the
// hand-worked example of report_quality_test.cc posted to a plan of its own; a closed month's
// grouped report with its flags stays the same bytes.
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/finance/storage/periods.h"
#include "tests/finance/month_close_fixture.h"

namespace dorset::finance {
namespace {

using namespace testing;  // NOLINT: the fixture's names and constants

constexpr char kQ[] = "plans/q";
constexpr char kA[] = "plans/q/programmes/a";
constexpr char kX[] = "plans/q/programmes/a/schemes/x";
constexpr char kY[] = "plans/q/programmes/a/schemes/y";
constexpr char kZ[] = "plans/q/programmes/a/schemes/z";

class SchemeAttributesTest : public MonthCloseFixture {
 protected:
  void MakePlan() {
    {
      v1::CreatePlanRequest request;
      request.set_plan_id("q");
      request.mutable_plan()->set_display_name("Q");
      v1::Plan plan;
      ASSERT_TRUE(stub_->CreatePlan(Ctx().get(), request, &plan).ok());
      v1::CreateProgrammeRequest programme;
      programme.set_parent(kQ);
      programme.set_programme_id("a");
      programme.mutable_programme()->set_display_name("A");
      v1::Programme out;
      ASSERT_TRUE(stub_->CreateProgramme(Ctx().get(), programme, &out).ok());
    }
    ASSERT_NO_FATAL_FAILURE(Scheme("x", 2000, v1::SAVING_RECURRENCE_RECURRENT,
                                   v1::SCHEME_MATURITY_IN_DELIVERY, "Alice"));
    ASSERT_NO_FATAL_FAILURE(Scheme("y", 1500, v1::SAVING_RECURRENCE_NON_RECURRENT,
                                   v1::SCHEME_MATURITY_UNIDENTIFIED, "Bob"));
    ASSERT_NO_FATAL_FAILURE(Scheme("z", 400, v1::SAVING_RECURRENCE_RECURRENT,
                                   v1::SCHEME_MATURITY_OPPORTUNITY, "Alice"));
  }
  void Scheme(const std::string& id, int64_t target, v1::SavingRecurrence recurrence,
              v1::SchemeMaturity maturity, const std::string& owner) {
    v1::CreateSchemeRequest request;
    request.set_parent(kA);
    request.set_scheme_id(id);
    v1::Scheme* scheme = request.mutable_scheme();
    scheme->set_display_name(id);
    v1::YearAmount* t = scheme->add_targets();
    t->set_financial_year(kYear);
    t->mutable_amount()->set_pence(target);
    scheme->set_recurrence(recurrence);
    scheme->set_maturity(maturity);
    scheme->set_senior_responsible_owner(owner);
    v1::Scheme out;
    grpc::Status status = stub_->CreateScheme(Ctx().get(), request, &out);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(out.recurrence(), recurrence);
    EXPECT_EQ(out.maturity(), maturity);
    EXPECT_EQ(out.senior_responsible_owner(), owner);
  }
  grpc::Status SetMaturity(const std::string& scheme, int maturity, v1::Scheme* out = nullptr) {
    v1::UpdateSchemeRequest request;
    request.mutable_scheme()->set_name(scheme);
    request.mutable_scheme()->set_maturity(static_cast<v1::SchemeMaturity>(maturity));
    request.mutable_update_mask()->add_paths("maturity");
    v1::Scheme updated;
    grpc::Status status = stub_->UpdateScheme(Ctx().get(), request, &updated);
    if (out != nullptr) *out = updated;
    return status;
  }
  // The example's postings in one batch.
  void PostExample() {
    v1::BatchCreatePostingsRequest request;
    request.set_request_id("example");
    auto add = [&](const char* scheme, int month, v1::PostingKind kind, int64_t pence) {
      *request.add_postings() = MakePosting(scheme, kYear, month, kind, pence, "example");
    };
    for (int m = 1; m <= 6; ++m) {
      add(kX, m, v1::POSTING_KIND_PLAN, 60);
      add(kX, m, v1::POSTING_KIND_ACTUAL, 50);
      add(kY, m, v1::POSTING_KIND_ACTUAL, 100);
    }
    for (int m = 7; m <= 12; ++m) {
      add(kX, m, v1::POSTING_KIND_FORECAST, m <= 9 ? 100 : 300);
      add(kY, m, v1::POSTING_KIND_FORECAST, 100);
    }
    add(kY, 6, v1::POSTING_KIND_FORECAST, 20'000'100);
    add(kZ, 1, v1::POSTING_KIND_PLAN, 100);
    add(kZ, 1, v1::POSTING_KIND_ACTUAL, 100);
    add(kZ, 10, v1::POSTING_KIND_FORECAST, 100);
    v1::BatchCreatePostingsResponse response;
    grpc::Status status = stub_->BatchCreatePostings(Ctx().get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  grpc::Status GroupedReport(int month, int group_by, v1::Report* out) {
    v1::GetReportRequest request;
    request.set_name(absl::StrCat(kQ, "/report"));
    request.set_financial_year(kYear);
    request.set_month(month);
    request.set_group_by(static_cast<v1::SchemeGrouping>(group_by));
    return stub_->GetReport(Ctx(kReader).get(), request, out);
  }
};

TEST_P(SchemeAttributesTest, AttributesAreKeptAndEditedAndBadValuesRefused) {
  ASSERT_NO_FATAL_FAILURE(MakePlan());
  v1::Scheme z;
  ASSERT_TRUE(SetMaturity(kZ, v1::SCHEME_MATURITY_UNIDENTIFIED, &z).ok());
  EXPECT_EQ(z.maturity(), v1::SCHEME_MATURITY_UNIDENTIFIED);
  EXPECT_EQ(z.recurrence(), v1::SAVING_RECURRENCE_RECURRENT);  // not in the mask: kept
  EXPECT_EQ(z.senior_responsible_owner(), "Alice");
  grpc::Status bad = SetMaturity(kZ, 9);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ViolationField(bad), "scheme.maturity");
  {
    v1::UpdateSchemeRequest request;
    request.mutable_scheme()->set_name(kZ);
    request.mutable_scheme()->set_senior_responsible_owner(std::string(201, 'o'));
    request.mutable_update_mask()->add_paths("senior_responsible_owner");
    v1::Scheme out;
    grpc::Status status = stub_->UpdateScheme(Ctx().get(), request, &out);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(ViolationField(status), "scheme.senior_responsible_owner");
  }
  // They survive a restart (stored, not cached).
  Restart();
  v1::GetSchemeRequest get;
  get.set_name(kZ);
  v1::Scheme read;
  ASSERT_TRUE(stub_->GetScheme(Ctx(kReader).get(), get, &read).ok());
  EXPECT_EQ(read.maturity(), v1::SCHEME_MATURITY_UNIDENTIFIED);
  EXPECT_EQ(read.recurrence(), v1::SAVING_RECURRENCE_RECURRENT);
  v1::Report report;
  EXPECT_EQ(GroupedReport(1, 42, &report).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_P(SchemeAttributesTest, GroupedReportUnidentifiedShareAndFlagsAsWorkedByHand) {
  ASSERT_NO_FATAL_FAILURE(MakePlan());
  ASSERT_TRUE(SetMaturity(kZ, v1::SCHEME_MATURITY_UNIDENTIFIED).ok());
  ASSERT_NO_FATAL_FAILURE(PostExample());
  v1::Report report;
  grpc::Status status = GroupedReport(6, v1::SCHEME_GROUPING_RECURRENCE, &report);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(report.groups_size(), 2);
  EXPECT_EQ(report.groups(0).key(), "NON_RECURRENT");
  EXPECT_EQ(report.groups(1).key(), "RECURRENT");
  EXPECT_EQ(report.groups(1).annual_target().pence(), 2400);
  EXPECT_EQ(report.groups(1).delivery_bp(), 8695);
  EXPECT_EQ(report.groups(1).rag(), v1::RAG_AMBER);
  EXPECT_EQ(report.unidentified_target().pence(), 1900);
  ASSERT_EQ(report.forecast_flags_size(), 2);
  EXPECT_EQ(report.forecast_flags(0).scheme(), kX);
  EXPECT_EQ(report.forecast_flags(0).reason(),
            "60.00% of the year's expected delivery falls in M10-M12 (flagged above 50.00%)");
  EXPECT_EQ(report.forecast_flags(1).scheme(), kY);
  EXPECT_EQ(report.forecast_flags(1).kind(), v1::ForecastFlag::KIND_OUTTURN_MOVED);
  EXPECT_EQ(report.forecast_flags(1).outturn_change().pence(), -20'000'000);

  v1::GetGapTrajectoryRequest request;
  request.set_name(absl::StrCat(kQ, "/gapTrajectory"));
  request.set_group_by(v1::SCHEME_GROUPING_MATURITY);
  v1::GapTrajectory gap;
  status = stub_->GetGapTrajectory(Ctx(kReader).get(), request, &gap);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(gap.as_of_month(), 6);
  ASSERT_EQ(gap.years_size(), 5);
  EXPECT_EQ(gap.years(4).gap().pence(), 3900);
  EXPECT_EQ(gap.years(4).unidentified().pence(), 1900);
  ASSERT_EQ(gap.groups_size(), 2);
  EXPECT_EQ(gap.groups(1).key(), "UNIDENTIFIED");
  EXPECT_EQ(gap.groups(1).years(4).forecast_delivery().pence(), 1400);
  EXPECT_EQ(gap.groups(1).years(4).unmitigated().pence(), 500);
}

TEST_P(SchemeAttributesTest, AClosedMonthsGroupsAndFlagsStayTheSameBytes) {
  ASSERT_NO_FATAL_FAILURE(MakePlan());
  ASSERT_TRUE(SetMaturity(kZ, v1::SCHEME_MATURITY_UNIDENTIFIED).ok());
  ASSERT_NO_FATAL_FAILURE(PostExample());
  for (int m = 1; m <= 6; ++m) ASSERT_NO_FATAL_FAILURE(CloseMonth(m));
  v1::Report closed;
  ASSERT_TRUE(GroupedReport(6, v1::SCHEME_GROUPING_MATURITY, &closed).ok());
  EXPECT_EQ(closed.period_state(), v1::Period::STATE_CLOSED);
  ASSERT_EQ(closed.forecast_flags_size(), 2);
  // Later: forecasts move, attributes change; the closed month answers as it was.
  EXPECT_TRUE(Post(MakePosting(kX, kYear, 11, v1::POSTING_KIND_FORECAST, 9000, "later")).ok());
  ASSERT_TRUE(SetMaturity(kX, v1::SCHEME_MATURITY_UNIDENTIFIED).ok());
  Restart();
  v1::Report again;
  ASSERT_TRUE(GroupedReport(6, v1::SCHEME_GROUPING_MATURITY, &again).ok());
  EXPECT_EQ(ReportBytes(again), ReportBytes(closed));
  // The open month sees the change.
  v1::Report m7;
  ASSERT_TRUE(GroupedReport(7, v1::SCHEME_GROUPING_MATURITY, &m7).ok());
  ASSERT_EQ(m7.groups_size(), 1);
  EXPECT_EQ(m7.groups(0).key(), "UNIDENTIFIED");
}

INSTANTIATE_TEST_SUITE_P(Engines, SchemeAttributesTest,
                         ::testing::Values(runtime::storage::Engine::kSqlite,
                                           runtime::storage::Engine::kPostgres),
                         [](const auto& info) {
                           return std::string(runtime::storage::EngineName(info.param));
                         });

}  // namespace
}  // namespace dorset::finance
