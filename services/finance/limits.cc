#include "services/finance/limits.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "runtime/base/string_view.h"
#include "runtime/status/errors.h"
#include "services/finance/money/money.h"

namespace dorset::finance {

absl::Status AmountLimitExceeded(std::string_view field, std::string_view description) {
  return runtime::WithReason(runtime::InvalidArgument(field, description), kAmountLimitReason);
}

absl::Status CheckAmountBound(int64_t pence, int64_t bound, std::string_view field,
                              std::string_view what) {
  // Compared in 128 bits: -INT64_MIN does not fit in int64.
  const __int128 magnitude = pence < 0 ? -static_cast<__int128>(pence) : pence;
  if (magnitude <= bound) return absl::OkStatus();
  return AmountLimitExceeded(
      field, absl::StrCat(ToAbsl(what), " must be within ±",
                          money::FormatPounds(bound, {.symbol = true, .grouping = true})));
}

}  // namespace dorset::finance
