// Pure arithmetic of the reports: RAG boundaries, thresholds, gap trajectory, per-head
// figures (hand-worked, including ties rounded half to even).
#include "services/finance/storage/report.h"

#include "gtest/gtest.h"
#include "services/finance/per_head.h"
#include "services/finance/storage/schema.h"

namespace dorset::finance {
namespace {

TEST(RateDelivery, BoundariesAreExactInBasisPoints) {
  RagBasisPoints t;  // 9500 / 8500
  int32_t bp = 0;
  EXPECT_EQ(RateDelivery(1000000, 950000, t, &bp), v1::RAG_GREEN);
  EXPECT_EQ(bp, 9500);
  EXPECT_EQ(RateDelivery(1000000, 949999, t, &bp), v1::RAG_AMBER);  // 94.9999% is not 95%
  EXPECT_EQ(bp, 9499);
  EXPECT_EQ(RateDelivery(1000000, 850000, t, &bp), v1::RAG_AMBER);
  EXPECT_EQ(RateDelivery(1000000, 849999, t, &bp), v1::RAG_RED);
  EXPECT_EQ(RateDelivery(1000000, -5, t, &bp), v1::RAG_RED);
  EXPECT_EQ(RateDelivery(0, 5, t, &bp), v1::RAG_NO_PLAN);
  EXPECT_EQ(bp, 0);
  // A negative line (re-investment): delivering -150 of a planned -200 is 75%.
  EXPECT_EQ(RateDelivery(-200, -150, t, &bp), v1::RAG_RED);
  EXPECT_EQ(bp, 7500);
  EXPECT_EQ(RateDelivery(-200, -190, t, &bp), v1::RAG_GREEN);
  // Enormous ratios clamp for display but still rate.
  EXPECT_EQ(RateDelivery(1, INT64_MAX, t, &bp), v1::RAG_GREEN);
  EXPECT_EQ(bp, INT32_MAX);
}

TEST(ResolveThresholds, DefaultsAndValidation) {
  v1::RagThresholds requested;
  EXPECT_EQ(ResolveThresholds(requested)->green, 9500);
  EXPECT_EQ(ResolveThresholds(requested)->amber, 8500);
  requested.set_green_min_bp(10000);
  requested.set_amber_min_bp(9000);
  EXPECT_EQ(ResolveThresholds(requested)->green, 10000);
  requested.set_amber_min_bp(10001);
  EXPECT_EQ(ResolveThresholds(requested).status().code(), absl::StatusCode::kInvalidArgument);
  requested.set_green_min_bp(-1);
  EXPECT_FALSE(ResolveThresholds(requested).ok());
}

// plan -> programme -> two schemes.
PlanData SmallPlan() {
  PlanData data;
  data.nodes = {{1, "plans/p", kNodePlan, 0, "P", false, "", 0, 0, ""},
                {2, "plans/p/programmes/a", kNodeProgramme, 1, "A", false, "", 0, 0, ""},
                {3, "plans/p/programmes/a/schemes/x", kNodeScheme, 2, "X", false, "", 0, 0, ""},
                {4, "plans/p/programmes/a/schemes/y", kNodeScheme, 2, "Y", true, "", 0, 0, ""}};
  return data;
}

TEST(BuildReport, RollsUpAndCountsForecastsOnlyAfterTheMonth) {
  PlanData data = SmallPlan();
  SchemeYear& x = data.figures[3][2019];
  x.target = 1200;
  x.monthly[kKindPlan][1] = 100;
  x.monthly[kKindPlan][2] = 100;
  x.monthly[kKindActual][1] = 90;
  x.monthly[kKindActual][2] = 100;
  x.monthly[kKindActual][3] = 1000;  // after month 2: not year to date
  x.monthly[kKindForecast][2] = 7;   // not after month 2: ignored
  x.monthly[kKindForecast][3] = 100;
  x.monthly[kKindForecast][12] = 50;
  SchemeYear& y = data.figures[4][2019];
  y.target = -300;
  y.monthly[kKindPlan][2] = -50;
  y.monthly[kKindActual][2] = -40;
  data.figures[3][2018].target = 999999;  // another year: never mixed in

  absl::StatusOr<v1::Report> report = BuildReport(data, 2019, 2, RagBasisPoints{});
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->lines_size(), 4);
  const v1::ReportLine& plan = report->lines(0);
  const v1::ReportLine& sx = report->lines(2);
  const v1::ReportLine& sy = report->lines(3);
  EXPECT_EQ(sx.ytd_plan().pence(), 200);
  EXPECT_EQ(sx.ytd_actual().pence(), 190);
  EXPECT_EQ(sx.ytd_variance().pence(), -10);
  EXPECT_EQ(sx.forecast_outturn().pence(), 190 + 150);
  EXPECT_EQ(sx.outturn_variance().pence(), 340 - 1200);
  EXPECT_EQ(sx.rag(), v1::RAG_GREEN);  // 95.00%
  EXPECT_EQ(sy.rag(), v1::RAG_RED);    // 80%
  EXPECT_TRUE(sy.closed());
  EXPECT_EQ(sy.annual_target().pence(), -300);  // its own line: as recorded
  // y is closed, so it is settled at what it delivered (-40) in its parents: target -40, plan
  // phasing -40, actual -40, no forecast (docs/finance.md "Closed schemes").
  EXPECT_EQ(plan.annual_target().pence(), 1200 - 40);
  EXPECT_EQ(plan.ytd_plan().pence(), 200 - 40);
  EXPECT_EQ(plan.ytd_actual().pence(), 150);
  EXPECT_EQ(plan.forecast_outturn().pence(), 300);
  EXPECT_EQ(plan.delivery_bp(), 9375);
  EXPECT_EQ(plan.rag(), v1::RAG_AMBER);
  EXPECT_EQ(report->lines(1).annual_target().pence(), 1160);
}

TEST(BuildReport, OverflowWhenRollingUpIsAnErrorNotAWrap) {
  PlanData data = SmallPlan();
  data.nodes[3].closed = false;
  data.figures[3][2019].target = INT64_MAX;
  data.figures[4][2019].target = 1;
  EXPECT_EQ(BuildReport(data, 2019, 1, RagBasisPoints{}).status().code(),
            absl::StatusCode::kOutOfRange);
}

TEST(GapTrajectory, ActualsUpToAsOfThenForecasts) {
  PlanData data = SmallPlan();
  data.nodes[3].closed = false;  // y open here (closed below)
  data.figures[3][2019].target = 1000;
  data.figures[3][2019].monthly[kKindActual][1] = 80;
  data.figures[3][2019].monthly[kKindActual][2] = 90;
  data.figures[3][2019].monthly[kKindForecast][1] = 5000;  // superseded by the actual
  data.figures[3][2019].monthly[kKindForecast][3] = 100;
  data.figures[4][2020].target = 500;
  data.figures[4][2020].monthly[kKindForecast][6] = 200;
  absl::StatusOr<v1::GapTrajectory> gap = BuildGapTrajectory(data, std::nullopt);
  ASSERT_TRUE(gap.ok()) << gap.status();
  EXPECT_EQ(gap->as_of_financial_year(), "2019-20");
  EXPECT_EQ(gap->as_of_month(), 2);
  ASSERT_EQ(gap->years_size(), 5);  // 2016-17 .. 2020-21
  const v1::GapYear& y2019 = gap->years(3);
  EXPECT_EQ(y2019.financial_year(), "2019-20");
  EXPECT_EQ(y2019.gap().pence(), 1000);
  EXPECT_EQ(y2019.actual().pence(), 170);
  EXPECT_EQ(y2019.forecast_delivery().pence(), 270);
  EXPECT_EQ(y2019.unmitigated().pence(), 730);
  EXPECT_EQ(gap->years(4).unmitigated().pence(), 300);
  EXPECT_EQ(gap->years(0).gap().pence(), 0);

  // Closed with nothing delivered, y takes its target and its forecast out of the plan.
  data.nodes[3].closed = true;
  data.figures[4][2020].monthly[kKindActual][1] = 60;
  gap = BuildGapTrajectory(data, std::nullopt);
  ASSERT_TRUE(gap.ok()) << gap.status();
  EXPECT_EQ(gap->years(4).gap().pence(), 60);  // settled at what it delivered
  EXPECT_EQ(gap->years(4).forecast_delivery().pence(), 60);
  EXPECT_EQ(gap->years(4).unmitigated().pence(), 0);
}

registry::v1::Locality Locality(const std::string& id, const std::string& cluster, int64_t pop) {
  registry::v1::Locality l;
  l.set_name("localities/" + id);
  l.set_display_name(id);
  l.set_cluster("clusters/" + cluster);
  l.set_active_registered_patients(pop);
  l.set_registered_patients(pop + 999);  // closed practices' lists: not counted
  return l;
}

TEST(PerHead, HandWorkedSharesAndHalfEvenRounding) {
  std::vector<registry::v1::Cluster> clusters(2);
  clusters[0].set_name("clusters/c1");
  clusters[1].set_name("clusters/c2");
  std::vector<registry::v1::Locality> localities = {
      Locality("l1", "c1", 1000), Locality("l2", "c1", 3000), Locality("l3", "c2", 2000)};
  // Budget: £600,000 system, £10,000 to l1, £3,000 to cluster c2.
  std::vector<ScopedAmount> budget = {
      {"", 60000000}, {"localities/l1", 1000000}, {"clusters/c2", 300000}};
  // Savings chosen to land on ties: 15,000p system, 3,000p to l2.
  std::vector<ScopedAmount> savings = {{"", 15000}, {"localities/l2", 3000}};
  absl::StatusOr<std::vector<v1::AreaFigures>> areas =
      ComputePerHead(clusters, localities, budget, savings);
  ASSERT_TRUE(areas.ok()) << areas.status();
  ASSERT_EQ(areas->size(), 6u);  // system, c1, l1, l2, c2, l3
  const auto& a = *areas;
  EXPECT_EQ(a[0].area_kind(), v1::AreaFigures::AREA_KIND_SYSTEM);
  EXPECT_EQ(a[0].registered_patients(), 6000);
  EXPECT_EQ(a[0].budget().pence(), 61300000);
  EXPECT_EQ(a[0].budget_per_head().pence(), 10217);      // 10216.67
  EXPECT_EQ(a[0].savings_target_per_head().pence(), 3);  // 18000 / 6000
  EXPECT_EQ(a[1].area(), "clusters/c1");
  EXPECT_EQ(a[1].budget().pence(), 41000000);  // 1,000,000 + 60,000,000 * 4000/6000
  EXPECT_EQ(a[1].budget_per_head().pence(), 10250);
  EXPECT_EQ(a[1].savings_target_per_head().pence(), 3);  // 13000 / 4000 = 3.25
  EXPECT_EQ(a[2].area(), "localities/l1");
  EXPECT_EQ(a[2].budget().pence(), 11000000);
  EXPECT_EQ(a[2].budget_per_head().pence(), 11000);
  EXPECT_EQ(a[2].savings_target().pence(), 2500);
  EXPECT_EQ(a[2].savings_target_per_head().pence(), 2);  // 2.5 -> 2 (even)
  EXPECT_EQ(a[3].area(), "localities/l2");
  EXPECT_EQ(a[3].budget_per_head().pence(), 10000);
  EXPECT_EQ(a[3].savings_target_per_head().pence(), 4);  // 10500 / 3000 = 3.5 -> 4 (even)
  EXPECT_EQ(a[4].area(), "clusters/c2");
  EXPECT_EQ(a[4].budget().pence(), 20300000);
  EXPECT_EQ(a[4].budget_per_head().pence(), 10150);
  EXPECT_EQ(a[5].area(), "localities/l3");
  EXPECT_EQ(a[5].budget().pence(), 20300000);            // all of c2's pool: its only locality
  EXPECT_EQ(a[5].savings_target_per_head().pence(), 2);  // 5000 / 2000 = 2.5 -> 2
}

TEST(PerHead, ZeroPopulationGivesZeroPerHeadNotACrash) {
  std::vector<registry::v1::Locality> localities = {Locality("empty", "c", 0)};
  absl::StatusOr<std::vector<v1::AreaFigures>> areas =
      ComputePerHead({}, localities, {{"", 100}}, {});
  ASSERT_TRUE(areas.ok()) << areas.status();
  EXPECT_EQ((*areas)[0].budget_per_head().pence(), 0);
  EXPECT_EQ((*areas)[0].budget().pence(), 100);
}

}  // namespace
}  // namespace dorset::finance
