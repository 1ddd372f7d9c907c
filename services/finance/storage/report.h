// The monthly report, the gap trajectory and the per-head figures: loading a plan's tree and
// the ledger's per scheme/month/kind totals (never the postings themselves), then rolling
// schemes up to programmes and the plan in checked integer pence.
#ifndef DORSET_SERVICES_FINANCE_REPORT_H_
#define DORSET_SERVICES_FINANCE_REPORT_H_

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dorset/finance/v1/finance.pb.h"
#include "services/finance/storage/store.h"

namespace dorset::finance {

struct PlanNode {
  int64_t id = 0;
  std::string name;
  int kind = 0;  // kNodePlan / kNodeProgramme / kNodeScheme
  int64_t parent_id = 0;
  std::string display_name;
  bool closed = false;
  std::string scope;
  // Scheme attributes as stored (proto enum numbers; 0 = not recorded).
  int recurrence = 0;
  int maturity = 0;
  std::string senior_responsible_owner;
};

// One scheme's figures for one financial year.
struct SchemeYear {
  int64_t target = 0;
  // monthly[kind][month]: kind 1..3 (PLAN, ACTUAL, FORECAST), month 1..12.
  std::array<std::array<int64_t, 13>, 4> monthly{};
};

// A plan with its nodes in depth-first order (plan, programme, its schemes, ...) and, per
// scheme id, per year, its figures.
struct PlanData {
  std::vector<PlanNode> nodes;
  std::map<int64_t, std::map<int, SchemeYear>> figures;
};

// What a CLOSED scheme contributes to its programme and plan (docs/finance.md "Closed
// schemes"): it is settled at what it delivered. Its target becomes its year's ACTUAL total,
// and its PLAN phasing and FORECAST for each month become that month's ACTUAL, so it adds its
// delivered savings to every parent figure and nothing to any variance or gap. Its own report
// line keeps the figures as recorded. OUT_OF_RANGE only for totals beyond limits.h (a store
// written before the bounds).
absl::StatusOr<SchemeYear> SettledContribution(const SchemeYear& recorded);

struct RagBasisPoints {
  int green = 9500;
  int amber = 8500;
};

// Thresholds from a request (zeros take the defaults); INVALID_ARGUMENT when amber > green or
// out of 0..1,000,000.
absl::StatusOr<RagBasisPoints> ResolveThresholds(const v1::RagThresholds& requested);

// Reads the plan's nodes and targets and totals (all years when `year` is empty).
absl::StatusOr<PlanData> LoadPlanData(FinanceStore& store, const std::string& plan,
                                      std::optional<int> year);
// The same inside the caller's transaction (a month's close snapshots every plan in its own).
absl::StatusOr<PlanData> LoadPlanDataIn(Transaction& tx, const std::string& plan,
                                        std::optional<int> year);

// The report at (year, month). Pure: no I/O.
absl::StatusOr<v1::Report> BuildReport(const PlanData& data, int year, int month,
                                       const RagBasisPoints& thresholds);

// Re-rates every line's RAG (and echoes `thresholds`) from its stored ytd_plan and ytd_actual:
// how a closed month's stored report answers a request with other thresholds.
void RerateReport(v1::Report& report, const RagBasisPoints& thresholds);

// RAG for a year-to-date actual against plan, plus the delivery in basis points (floored).
v1::Rag RateDelivery(int64_t ytd_plan, int64_t ytd_actual, const RagBasisPoints& thresholds,
                     int32_t* delivery_bp);

// The trajectory over every year of the horizon. `as_of` = (year, month) or nullopt for the
// latest month holding an actual posting. Each year says the part of the gap carried by
// UNIDENTIFIED schemes; with `group_by` set, the same per group of schemes (groups ordered by
// key, with the plan's as-at point).
absl::StatusOr<v1::GapTrajectory> BuildGapTrajectory(
    const PlanData& data, std::optional<std::pair<int, int>> as_of,
    v1::SchemeGrouping group_by = v1::SCHEME_GROUPING_UNSPECIFIED);

// A scheme's group under `group_by`: the enum value's name without its prefix ("RECURRENT"),
// the owner, or "" when not recorded.
std::string GroupKey(v1::SchemeGrouping group_by, int recurrence, int maturity,
                     const std::string& senior_responsible_owner);

}  // namespace dorset::finance

#endif  // DORSET_SERVICES_FINANCE_REPORT_H_
