// The gap trajectory (report.h BuildGapTrajectory): per year of the horizon the plan's target,
// actuals to the as-at point and forecasts after it, plus the part of the gap carried by
// UNIDENTIFIED schemes, for the whole plan and per group of schemes. Pure: no I/O.
#include <set>

#include "absl/strings/str_cat.h"
#include "runtime/status/status_macros.h"
#include "services/finance/calendar.h"
#include "services/finance/money/money.h"
#include "services/finance/storage/report.h"
#include "services/finance/storage/schema.h"

namespace dorset::finance {
namespace {

void SetMoney(dorset::common::v1::Money* out, int64_t pence) { out->set_pence(pence); }

}  // namespace

namespace {

// Per year, the summed target and monthly figures of the schemes `include` accepts (a closed
// scheme settled at what it delivered), and the target of the UNIDENTIFIED ones among them.
struct GapSums {
  std::map<int, SchemeYear> years;
  std::map<int, int64_t> unidentified;
};

template <typename Include>
absl::StatusOr<GapSums> SumSchemes(const PlanData& data, Include&& include) {
  GapSums sums;
  for (int year = kFirstYear; year <= kLastYear; ++year) {
    sums.years[year];
    sums.unidentified[year] = 0;
  }
  for (const PlanNode& node : data.nodes) {
    if (node.kind != kNodeScheme || !include(node)) continue;
    auto figures = data.figures.find(node.id);
    if (figures == data.figures.end()) continue;
    for (const auto& [year, recorded] : figures->second) {
      SchemeYear sy = recorded;
      if (node.closed) {
        ASSIGN_OR_RETURN(sy, SettledContribution(recorded));
      }
      SchemeYear& into = sums.years[year];
      ASSIGN_OR_RETURN(into.target, money::CheckedAdd(into.target, sy.target));
      for (int kind = 1; kind <= 3; ++kind) {
        for (int m = 1; m <= 12; ++m) {
          ASSIGN_OR_RETURN(into.monthly[kind][m],
                           money::CheckedAdd(into.monthly[kind][m], sy.monthly[kind][m]));
        }
      }
      if (node.maturity == v1::SCHEME_MATURITY_UNIDENTIFIED) {
        ASSIGN_OR_RETURN(sums.unidentified[year],
                         money::CheckedAdd(sums.unidentified[year], sy.target));
      }
    }
  }
  return sums;
}

// The years of a trajectory from `sums` at the as-at point.
absl::Status AddGapYears(const GapSums& sums, std::optional<std::pair<int, int>> as_of,
                         google::protobuf::RepeatedPtrField<v1::GapYear>* out) {
  for (const auto& [year, sy] : sums.years) {
    int64_t actual = 0;
    int64_t forecast = 0;
    for (int m = 1; m <= 12; ++m) {
      const bool counted_actual = as_of && std::make_pair(year, m) <= *as_of;
      if (counted_actual) {
        ASSIGN_OR_RETURN(actual, money::CheckedAdd(actual, sy.monthly[kKindActual][m]));
      } else {
        ASSIGN_OR_RETURN(forecast, money::CheckedAdd(forecast, sy.monthly[kKindForecast][m]));
      }
    }
    ASSIGN_OR_RETURN(int64_t delivery, money::CheckedAdd(actual, forecast));
    ASSIGN_OR_RETURN(int64_t unmitigated, money::CheckedSub(sy.target, delivery));
    v1::GapYear* item = out->Add();
    item->set_financial_year(FormatFinancialYear(year));
    SetMoney(item->mutable_gap(), sy.target);
    SetMoney(item->mutable_actual(), actual);
    SetMoney(item->mutable_forecast_delivery(), delivery);
    SetMoney(item->mutable_unmitigated(), unmitigated);
    SetMoney(item->mutable_unidentified(), sums.unidentified.at(year));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::GapTrajectory> BuildGapTrajectory(const PlanData& data,
                                                     std::optional<std::pair<int, int>> as_of,
                                                     v1::SchemeGrouping group_by) {
  ASSIGN_OR_RETURN(GapSums plan, SumSchemes(data, [](const PlanNode&) { return true; }));
  if (!as_of) {
    // The latest month holding any actual posting (non-zero total or not, a posted month counts
    // only when its total is non-zero: reversed-out months do not move the as-at point).
    std::pair<int, int> latest{0, 0};
    for (const auto& [year, sy] : plan.years) {
      for (int m = 1; m <= 12; ++m) {
        if (sy.monthly[kKindActual][m] != 0) latest = std::max(latest, std::make_pair(year, m));
      }
    }
    if (latest.first != 0) as_of = latest;
  }
  v1::GapTrajectory out;
  out.set_plan(data.nodes.front().name);
  out.set_name(absl::StrCat(data.nodes.front().name, "/gapTrajectory"));
  if (as_of) {
    out.set_as_of_financial_year(FormatFinancialYear(as_of->first));
    out.set_as_of_month(as_of->second);
  }
  RETURN_IF_ERROR(AddGapYears(plan, as_of, out.mutable_years()));
  if (group_by == v1::SCHEME_GROUPING_UNSPECIFIED) return out;
  out.set_group_by(group_by);
  std::set<std::string> keys;
  auto key_of = [&](const PlanNode& node) {
    return GroupKey(group_by, node.recurrence, node.maturity, node.senior_responsible_owner);
  };
  for (const PlanNode& node : data.nodes) {
    if (node.kind == kNodeScheme) keys.insert(key_of(node));
  }
  for (const std::string& key : keys) {
    ASSIGN_OR_RETURN(GapSums sums,
                     SumSchemes(data, [&](const PlanNode& node) { return key_of(node) == key; }));
    v1::GapGroup* group = out.add_groups();
    group->set_key(key);
    RETURN_IF_ERROR(AddGapYears(sums, as_of, group->mutable_years()));
  }
  return out;
}

}  // namespace dorset::finance
