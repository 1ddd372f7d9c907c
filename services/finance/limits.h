// The bounds on stored amounts and counts that make every rolled-up figure fit in int64 pence,
// and the one refusal used when an input would break them.
//
// Why these bounds suffice (docs/finance.md "Bounds" says the same): every figure a report,
// the gap trajectory or the per-head figures return is a sum over the schemes of ONE plan of
// per-scheme figures, each of which is a sum of at most 12 monthly totals or one target.
//   - a monthly total (scheme, year, month, kind) is kept within ±kMaxTotalPence at posting
//     time (the running total is checked, so the number of postings does not matter);
//   - a scheme's annual target is within ±kMaxTargetPence; a closed scheme contributes its
//     year's actuals instead (at most 12 totals);
//   - a plan has at most kMaxSchemesPerPlan schemes.
// So any ytd/forecast/target figure, and any partial sum the checked roll-up forms on the way,
// is within S = kMaxSchemesPerPlan * 12 * kMaxTotalPence; the derived figures (variance,
// outturn, outturn variance, unmitigated gap) are sums or differences of at most three such
// figures, so within 3S < INT64_MAX. Budget lines: at most kMaxBudgetLines of
// ±kMaxBudgetLinePence each.
#ifndef DORSET_SERVICES_FINANCE_LIMITS_H_
#define DORSET_SERVICES_FINANCE_LIMITS_H_

#include <cstdint>
#include <limits>
#include <string_view>

#include "absl/status/status.h"

namespace dorset::finance {

// 10^13 pence = £100bn, half the whole NHS budget (~£2×10^13 pence a year) and ~80 times
// Dorset's: a posting, monthly total or target anywhere near it is a keying error.
inline constexpr int64_t kMaxPostingPence = 10'000'000'000'000;  // 10^13
inline constexpr int64_t kMaxTotalPence = 10'000'000'000'000;    // per scheme/year/month/kind
inline constexpr int64_t kMaxTargetPence = 10'000'000'000'000;   // per scheme and year
inline constexpr int64_t kMaxBudgetLinePence = 10'000'000'000'000;
inline constexpr int64_t kMaxSchemesPerPlan = 10'000;
inline constexpr int64_t kMaxBudgetLines = 10'000;

// The largest |figure| any roll-up of one plan can form (see above).
inline constexpr int64_t kMaxRolledUpPence = kMaxSchemesPerPlan * 12 * kMaxTotalPence;
static_assert(kMaxTargetPence <= 12 * kMaxTotalPence);
static_assert(kMaxRolledUpPence <= std::numeric_limits<int64_t>::max() / 3,
              "variance/outturn figures combine up to three rolled-up figures");
static_assert(kMaxBudgetLines * kMaxBudgetLinePence <= std::numeric_limits<int64_t>::max() / 3);

// The ErrorInfo reason of every refusal for an amount or count beyond these bounds.
inline constexpr std::string_view kAmountLimitReason = "AMOUNT_LIMIT_EXCEEDED";

// INVALID_ARGUMENT naming `field`, with ErrorInfo reason AMOUNT_LIMIT_EXCEEDED.
absl::Status AmountLimitExceeded(std::string_view field, std::string_view description);

// OK when |pence| <= bound, else AmountLimitExceeded(field, "... at most £<bound> ...").
absl::Status CheckAmountBound(int64_t pence, int64_t bound, std::string_view field,
                              std::string_view what);

}  // namespace dorset::finance

#endif  // DORSET_SERVICES_FINANCE_LIMITS_H_
