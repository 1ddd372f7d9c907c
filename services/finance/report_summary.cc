#include "services/finance/report_summary.h"

#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "services/finance/money/money.h"

namespace dorset::finance {
namespace {

struct GroupSums {
  int32_t schemes = 0;
  int64_t target = 0, ytd_plan = 0, ytd_actual = 0, outturn = 0;
};

absl::Status Add(GroupSums& into, const v1::ReportLine& line) {
  ++into.schemes;
  ASSIGN_OR_RETURN(into.target, money::CheckedAdd(into.target, line.annual_target().pence()));
  ASSIGN_OR_RETURN(into.ytd_plan, money::CheckedAdd(into.ytd_plan, line.ytd_plan().pence()));
  ASSIGN_OR_RETURN(into.ytd_actual, money::CheckedAdd(into.ytd_actual, line.ytd_actual().pence()));
  ASSIGN_OR_RETURN(into.outturn, money::CheckedAdd(into.outturn, line.forecast_outturn().pence()));
  return absl::OkStatus();
}

std::string Pounds(int64_t pence) {
  return money::FormatPounds(pence, {.symbol = true, .grouping = true});
}

// Basis points as a percentage with two decimals, in integers ("62.50%").
std::string Percent(int64_t bp) {
  const int64_t magnitude = bp < 0 ? -bp : bp;
  return absl::StrFormat("%s%d.%02d%%", bp < 0 ? "-" : "", magnitude / 100, magnitude % 100);
}

}  // namespace

absl::StatusOr<ForecastQuality> ResolveForecastQuality(const v1::ForecastQualityThresholds& in) {
  ForecastQuality out;
  if (in.back_loaded_min_bp() != 0) out.back_loaded_min_bp = in.back_loaded_min_bp();
  if (in.outturn_move().pence() != 0) out.outturn_move_pence = in.outturn_move().pence();
  if (out.back_loaded_min_bp < 0 || out.back_loaded_min_bp > 10000) {
    return runtime::InvalidArgument("forecast_quality.back_loaded_min_bp", "0..10000 basis points");
  }
  if (out.outturn_move_pence < 0) {
    return runtime::InvalidArgument("forecast_quality.outturn_move", "cannot be negative");
  }
  return out;
}

absl::Status SummariseReport(v1::Report& report, v1::SchemeGrouping group_by,
                             const RagBasisPoints& thresholds, const ForecastQuality& quality) {
  std::map<std::string, GroupSums> groups;
  int64_t unidentified = 0;
  std::vector<v1::ForecastFlag> flags;
  for (const v1::ReportLine& line : report.lines()) {
    if (line.kind() != v1::NODE_KIND_SCHEME) continue;
    if (group_by != v1::SCHEME_GROUPING_UNSPECIFIED) {
      RETURN_IF_ERROR(Add(groups[GroupKey(group_by, line.recurrence(), line.maturity(),
                                          line.senior_responsible_owner())],
                          line));
    }
    if (line.maturity() == v1::SCHEME_MATURITY_UNIDENTIFIED && !line.closed()) {
      ASSIGN_OR_RETURN(unidentified, money::CheckedAdd(unidentified, line.annual_target().pence()));
    }
    // A closed scheme takes no new forecasts: nothing to look at again.
    if (line.closed()) continue;
    if (line.late_delivery_bp() > quality.back_loaded_min_bp) {
      v1::ForecastFlag& flag = flags.emplace_back();
      flag.set_scheme(line.node());
      flag.set_kind(v1::ForecastFlag::KIND_BACK_LOADED);
      flag.set_share_bp(line.late_delivery_bp());
      flag.set_reason(absl::StrCat(Percent(line.late_delivery_bp()),
                                   " of the year's expected delivery falls in M10-M12 (flagged "
                                   "above ",
                                   Percent(quality.back_loaded_min_bp), ")"));
    }
    if (line.has_previous_forecast_outturn()) {
      const int64_t before = line.previous_forecast_outturn().pence();
      ASSIGN_OR_RETURN(int64_t change, money::CheckedSub(line.forecast_outturn().pence(), before));
      const bool moved =
          change > quality.outturn_move_pence || change < -quality.outturn_move_pence;
      if (moved) {
        v1::ForecastFlag& flag = flags.emplace_back();
        flag.set_scheme(line.node());
        flag.set_kind(v1::ForecastFlag::KIND_OUTTURN_MOVED);
        flag.mutable_outturn_change()->set_pence(change);
        flag.set_reason(absl::StrCat("forecast outturn moved from ", Pounds(before), " to ",
                                     Pounds(line.forecast_outturn().pence()), " (",
                                     change > 0 ? "+" : "", Pounds(change), ") since M",
                                     report.month() - 1, " (flagged beyond ",
                                     Pounds(quality.outturn_move_pence), ")"));
      }
    }
  }
  report.set_group_by(group_by);
  report.clear_groups();
  for (const auto& [key, sums] : groups) {
    v1::ReportGroup* group = report.add_groups();
    group->set_key(key);
    group->set_schemes(sums.schemes);
    group->mutable_annual_target()->set_pence(sums.target);
    group->mutable_ytd_plan()->set_pence(sums.ytd_plan);
    group->mutable_ytd_actual()->set_pence(sums.ytd_actual);
    ASSIGN_OR_RETURN(int64_t variance, money::CheckedSub(sums.ytd_actual, sums.ytd_plan));
    group->mutable_ytd_variance()->set_pence(variance);
    group->mutable_forecast_outturn()->set_pence(sums.outturn);
    ASSIGN_OR_RETURN(int64_t outturn_variance, money::CheckedSub(sums.outturn, sums.target));
    group->mutable_outturn_variance()->set_pence(outturn_variance);
    int32_t bp = 0;
    group->set_rag(RateDelivery(sums.ytd_plan, sums.ytd_actual, thresholds, &bp));
    group->set_delivery_bp(bp);
  }
  report.mutable_unidentified_target()->set_pence(unidentified);
  report.clear_forecast_flags();
  // Lines are in tree order; flags by scheme name, then kind.
  std::stable_sort(flags.begin(), flags.end(), [](const auto& a, const auto& b) {
    return std::make_pair(a.scheme(), static_cast<int>(a.kind())) <
           std::make_pair(b.scheme(), static_cast<int>(b.kind()));
  });
  for (v1::ForecastFlag& flag : flags) *report.add_forecast_flags() = std::move(flag);
  return absl::OkStatus();
}

}  // namespace dorset::finance
