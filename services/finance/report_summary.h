// What a report says beyond its lines, worked out from its scheme lines alone (so a closed
// month's stored report gives the same answer every time): the groups of schemes by an
// attribute, the unidentified share of the target, and the forecast-quality flags
// (docs/finance.md "Scheme attributes", "Forecast quality"). Pure: no I/O.
#ifndef DORSET_SERVICES_FINANCE_REPORT_SUMMARY_H_
#define DORSET_SERVICES_FINANCE_REPORT_SUMMARY_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "dorset/finance/v1/finance.pb.h"
#include "services/finance/storage/report.h"

namespace dorset::finance {

struct ForecastQuality {
  int32_t back_loaded_min_bp = 5000;        // more than half of the year in M10-M12
  int64_t outturn_move_pence = 10'000'000;  // £100,000.00
};

// From a request (zeros take the defaults); INVALID_ARGUMENT naming the field when negative or
// the share is beyond 10,000 bp.
absl::StatusOr<ForecastQuality> ResolveForecastQuality(const v1::ForecastQualityThresholds& in);

// Sets group_by and groups (when `group_by` is set), unidentified_target and forecast_flags
// from the report's scheme lines. OUT_OF_RANGE if a sum does not fit (limits.h makes that
// unreachable for stored data).
absl::Status SummariseReport(v1::Report& report, v1::SchemeGrouping group_by,
                             const RagBasisPoints& thresholds, const ForecastQuality& quality);

}  // namespace dorset::finance

#endif  // DORSET_SERVICES_FINANCE_REPORT_SUMMARY_H_
