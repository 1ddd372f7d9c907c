// Scheme attributes in the report and the gap trajectory, and the forecast-quality flags, on a
// hand-worked example (pure: BuildReport, SummariseReport, BuildGapTrajectory; no I/O).
//
// Plan p, programme a, schemes x, y, z in 2020-21, reported at M6:
//   x  RECURRENT, IN_DELIVERY, owner Alice; target 2000; PLAN 60 in M1-M6; ACTUAL 50 in M1-M6;
//      FORECAST 100 in M7-M9 and 300 in M10-M12.
//      Expected delivery 300 + 1200 = 1500, of which M10-M12 900 = 60.00% -> BACK_LOADED.
//      Outturn at M5: 250 + 1200 = 1450; at M6: 1500; moved 50 -> not flagged.
//   y  NON_RECURRENT, UNIDENTIFIED, owner Bob; target 1500; ACTUAL 100 in M1-M6; FORECAST
//      20,000,100 in M6 and 100 in M7-M12.
//      Expected at M6 600 + 600 = 1200, M10-M12 300 = 25.00% -> not back-loaded.
//      Outturn at M5: 500 + 20,000,100 + 600 = 20,001,200; at M6: 1200; moved -20,000,000
//      (-£200,000.00) -> OUTTURN_MOVED beyond £100,000.00, but not beyond exactly £200,000.00.
//   z  RECURRENT, UNIDENTIFIED, owner Alice; target 400; PLAN 100 in M1; ACTUAL 100 in M1;
//      FORECAST 100 in M10. Expected 200, M10-M12 100 = exactly 50.00% -> not "more than half".
// Groups by recurrence: RECURRENT = x + z: target 2400, plan 460, actual 400,
// delivery floor(400 x 10000 / 460) = 8695 bp -> AMBER; NON_RECURRENT = y. Unidentified target:
// y + z = 1900.
#include <string>

#include "gtest/gtest.h"
#include "services/finance/report_summary.h"
#include "services/finance/storage/report.h"
#include "services/finance/storage/schema.h"

namespace dorset::finance {
namespace {

constexpr int kYear = 2020;
constexpr char kX[] = "plans/p/programmes/a/schemes/x";
constexpr char kY[] = "plans/p/programmes/a/schemes/y";
constexpr char kZ[] = "plans/p/programmes/a/schemes/z";

PlanNode Node(int64_t id, std::string name, int kind, int64_t parent, int recurrence = 0,
              int maturity = 0, std::string owner = "") {
  PlanNode node;
  node.id = id;
  node.name = std::move(name);
  node.kind = kind;
  node.parent_id = parent;
  node.display_name = node.name;
  node.recurrence = recurrence;
  node.maturity = maturity;
  node.senior_responsible_owner = std::move(owner);
  return node;
}

PlanData Example() {
  PlanData data;
  data.nodes = {Node(1, "plans/p", kNodePlan, 0),
                Node(2, "plans/p/programmes/a", kNodeProgramme, 1),
                Node(3, kX, kNodeScheme, 2, v1::SAVING_RECURRENCE_RECURRENT,
                     v1::SCHEME_MATURITY_IN_DELIVERY, "Alice"),
                Node(4, kY, kNodeScheme, 2, v1::SAVING_RECURRENCE_NON_RECURRENT,
                     v1::SCHEME_MATURITY_UNIDENTIFIED, "Bob"),
                Node(5, kZ, kNodeScheme, 2, v1::SAVING_RECURRENCE_RECURRENT,
                     v1::SCHEME_MATURITY_UNIDENTIFIED, "Alice")};
  SchemeYear& x = data.figures[3][kYear];
  x.target = 2000;
  for (int m = 1; m <= 6; ++m) {
    x.monthly[kKindPlan][m] = 60;
    x.monthly[kKindActual][m] = 50;
  }
  for (int m = 7; m <= 9; ++m) x.monthly[kKindForecast][m] = 100;
  for (int m = 10; m <= 12; ++m) x.monthly[kKindForecast][m] = 300;
  SchemeYear& y = data.figures[4][kYear];
  y.target = 1500;
  for (int m = 1; m <= 6; ++m) y.monthly[kKindActual][m] = 100;
  y.monthly[kKindForecast][6] = 20'000'100;
  for (int m = 7; m <= 12; ++m) y.monthly[kKindForecast][m] = 100;
  SchemeYear& z = data.figures[5][kYear];
  z.target = 400;
  z.monthly[kKindPlan][1] = 100;
  z.monthly[kKindActual][1] = 100;
  z.monthly[kKindForecast][10] = 100;
  return data;
}

const v1::ReportLine& Line(const v1::Report& report, const std::string& node) {
  for (const v1::ReportLine& line : report.lines()) {
    if (line.node() == node) return line;
  }
  static const v1::ReportLine* none = new v1::ReportLine();
  ADD_FAILURE() << "no line " << node;
  return *none;
}

TEST(ForecastQuality, HandWorkedFlagsWithReasons) {
  absl::StatusOr<v1::Report> report = BuildReport(Example(), kYear, 6, RagBasisPoints{});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(Line(*report, kX).late_delivery_bp(), 6000);
  EXPECT_EQ(Line(*report, kY).late_delivery_bp(), 2500);
  EXPECT_EQ(Line(*report, kZ).late_delivery_bp(), 5000);
  EXPECT_EQ(Line(*report, kX).previous_forecast_outturn().pence(), 1450);
  EXPECT_EQ(Line(*report, kY).previous_forecast_outturn().pence(), 20'001'200);
  EXPECT_EQ(Line(*report, kY).forecast_outturn().pence(), 1200);
  EXPECT_FALSE(Line(*report, "plans/p").has_previous_forecast_outturn());  // schemes only

  ASSERT_TRUE(SummariseReport(*report, v1::SCHEME_GROUPING_UNSPECIFIED, RagBasisPoints{}, {}).ok());
  ASSERT_EQ(report->forecast_flags_size(), 2);
  const v1::ForecastFlag& back = report->forecast_flags(0);
  EXPECT_EQ(back.scheme(), kX);
  EXPECT_EQ(back.kind(), v1::ForecastFlag::KIND_BACK_LOADED);
  EXPECT_EQ(back.share_bp(), 6000);
  EXPECT_EQ(back.reason(),
            "60.00% of the year's expected delivery falls in M10-M12 (flagged above 50.00%)");
  const v1::ForecastFlag& moved = report->forecast_flags(1);
  EXPECT_EQ(moved.scheme(), kY);
  EXPECT_EQ(moved.kind(), v1::ForecastFlag::KIND_OUTTURN_MOVED);
  EXPECT_EQ(moved.outturn_change().pence(), -20'000'000);
  EXPECT_EQ(moved.reason(),
            "forecast outturn moved from \xC2\xA3"
            "200,012.00 to \xC2\xA3"
            "12.00 "
            "(-\xC2\xA3"
            "200,000.00) since M5 (flagged beyond \xC2\xA3"
            "100,000.00)");
  EXPECT_EQ(report->unidentified_target().pence(), 1900);
  EXPECT_EQ(report->groups_size(), 0);

  // The thresholds are the request's: at exactly the move it is not "more than".
  ForecastQuality strict;
  strict.outturn_move_pence = 20'000'000;
  strict.back_loaded_min_bp = 4999;  // now z's exactly-half is more than 49.99%
  ASSERT_TRUE(
      SummariseReport(*report, v1::SCHEME_GROUPING_UNSPECIFIED, RagBasisPoints{}, strict).ok());
  ASSERT_EQ(report->forecast_flags_size(), 2);
  EXPECT_EQ(report->forecast_flags(0).scheme(), kX);
  EXPECT_EQ(report->forecast_flags(1).scheme(), kZ);
  EXPECT_EQ(report->forecast_flags(1).kind(), v1::ForecastFlag::KIND_BACK_LOADED);

  // M1 has no month before: no outturn flag.
  absl::StatusOr<v1::Report> m1 = BuildReport(Example(), kYear, 1, RagBasisPoints{});
  ASSERT_TRUE(m1.ok()) << m1.status();
  EXPECT_FALSE(Line(*m1, kY).has_previous_forecast_outturn());
}

TEST(ForecastQuality, ThresholdsFromTheRequest) {
  v1::ForecastQualityThresholds in;
  EXPECT_EQ(ResolveForecastQuality(in)->back_loaded_min_bp, 5000);
  EXPECT_EQ(ResolveForecastQuality(in)->outturn_move_pence, 10'000'000);
  in.set_back_loaded_min_bp(10001);
  EXPECT_EQ(ResolveForecastQuality(in).status().code(), absl::StatusCode::kInvalidArgument);
  in.set_back_loaded_min_bp(0);
  in.mutable_outturn_move()->set_pence(-1);
  EXPECT_EQ(ResolveForecastQuality(in).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SchemeGroups, ReportGroupsByEachAttribute) {
  absl::StatusOr<v1::Report> report = BuildReport(Example(), kYear, 6, RagBasisPoints{});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(Line(*report, kY).maturity(), v1::SCHEME_MATURITY_UNIDENTIFIED);
  EXPECT_EQ(Line(*report, kX).senior_responsible_owner(), "Alice");

  ASSERT_TRUE(SummariseReport(*report, v1::SCHEME_GROUPING_RECURRENCE, RagBasisPoints{}, {}).ok());
  EXPECT_EQ(report->group_by(), v1::SCHEME_GROUPING_RECURRENCE);
  ASSERT_EQ(report->groups_size(), 2);
  const v1::ReportGroup& non = report->groups(0);
  EXPECT_EQ(non.key(), "NON_RECURRENT");
  EXPECT_EQ(non.schemes(), 1);
  EXPECT_EQ(non.annual_target().pence(), 1500);
  EXPECT_EQ(non.rag(), v1::RAG_NO_PLAN);
  const v1::ReportGroup& rec = report->groups(1);
  EXPECT_EQ(rec.key(), "RECURRENT");
  EXPECT_EQ(rec.schemes(), 2);
  EXPECT_EQ(rec.annual_target().pence(), 2400);
  EXPECT_EQ(rec.ytd_plan().pence(), 460);
  EXPECT_EQ(rec.ytd_actual().pence(), 400);
  EXPECT_EQ(rec.ytd_variance().pence(), -60);
  EXPECT_EQ(rec.forecast_outturn().pence(), 1500 + 200);
  EXPECT_EQ(rec.outturn_variance().pence(), 1700 - 2400);
  EXPECT_EQ(rec.delivery_bp(), 8695);
  EXPECT_EQ(rec.rag(), v1::RAG_AMBER);

  ASSERT_TRUE(
      SummariseReport(*report, v1::SCHEME_GROUPING_SENIOR_RESPONSIBLE_OWNER, RagBasisPoints{}, {})
          .ok());
  ASSERT_EQ(report->groups_size(), 2);  // replaced, not appended
  EXPECT_EQ(report->groups(0).key(), "Alice");
  EXPECT_EQ(report->groups(0).annual_target().pence(), 2400);
  EXPECT_EQ(report->groups(1).key(), "Bob");
  ASSERT_TRUE(SummariseReport(*report, v1::SCHEME_GROUPING_MATURITY, RagBasisPoints{}, {}).ok());
  ASSERT_EQ(report->groups_size(), 2);
  EXPECT_EQ(report->groups(0).key(), "IN_DELIVERY");
  EXPECT_EQ(report->groups(1).key(), "UNIDENTIFIED");
  EXPECT_EQ(report->groups(1).annual_target().pence(), 1900);
}

TEST(SchemeGroups, GapTrajectoryShowsTheUnidentifiedShareAndGroups) {
  absl::StatusOr<v1::GapTrajectory> gap =
      BuildGapTrajectory(Example(), std::nullopt, v1::SCHEME_GROUPING_MATURITY);
  ASSERT_TRUE(gap.ok()) << gap.status();
  EXPECT_EQ(gap->as_of_month(), 6);
  const v1::GapYear& plan = gap->years(4);  // 2020-21
  EXPECT_EQ(plan.financial_year(), "2020-21");
  EXPECT_EQ(plan.gap().pence(), 3900);
  EXPECT_EQ(plan.unidentified().pence(), 1900);
  ASSERT_EQ(gap->groups_size(), 2);
  EXPECT_EQ(gap->groups(0).key(), "IN_DELIVERY");
  const v1::GapYear& delivering = gap->groups(0).years(4);
  EXPECT_EQ(delivering.gap().pence(), 2000);
  EXPECT_EQ(delivering.actual().pence(), 300);
  EXPECT_EQ(delivering.forecast_delivery().pence(), 1500);
  EXPECT_EQ(delivering.unmitigated().pence(), 500);
  EXPECT_EQ(delivering.unidentified().pence(), 0);
  const v1::GapYear& unidentified = gap->groups(1).years(4);
  EXPECT_EQ(gap->groups(1).key(), "UNIDENTIFIED");
  EXPECT_EQ(unidentified.gap().pence(), 1900);
  EXPECT_EQ(unidentified.actual().pence(), 700);
  EXPECT_EQ(unidentified.forecast_delivery().pence(), 1400);  // y's M6 forecast is past
  EXPECT_EQ(unidentified.unmitigated().pence(), 500);
  EXPECT_EQ(unidentified.unidentified().pence(), 1900);
  // Without group_by: no groups.
  EXPECT_EQ(BuildGapTrajectory(Example(), std::nullopt)->groups_size(), 0);
}

}  // namespace
}  // namespace dorset::finance
