// Exact money for the finance service: amounts are whole pence in an int64, every sum and
// product is checked for overflow, and text is parsed strictly (a fraction of a penny is an
// error, never a rounding). No floating point anywhere near an amount.
//
//   ASSIGN_OR_RETURN(int64_t pence, ParsePounds("£1,234.56"));   // 123456
//   ASSIGN_OR_RETURN(int64_t total, CheckedAdd(a, b));
//   FormatPounds(-123456) == "-1234.56";  FormatPounds(123456, {.symbol=true, .grouping=true})
//                                              == "£1,234.56"
#ifndef DORSET_SERVICES_FINANCE_MONEY_MONEY_H_
#define DORSET_SERVICES_FINANCE_MONEY_MONEY_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace dorset::finance::money {

inline constexpr int64_t kPencePerPound = 100;

// OUT_OF_RANGE when the exact result does not fit in int64 pence.
absl::StatusOr<int64_t> CheckedAdd(int64_t a, int64_t b);
absl::StatusOr<int64_t> CheckedSub(int64_t a, int64_t b);
absl::StatusOr<int64_t> CheckedMul(int64_t a, int64_t b);
absl::StatusOr<int64_t> CheckedNeg(int64_t a);
absl::StatusOr<int64_t> CheckedSum(std::span<const int64_t> amounts);
// Whole pounds to pence ("£28m" is Pounds(28'000'000)).
absl::StatusOr<int64_t> Pounds(int64_t pounds);

// Parses pounds written as [-]["£"]digits[.d[d]] with optional thousands commas in the right
// places ("1,234.56", "-£16,000,000", "0.5"). INVALID_ARGUMENT for anything else, including
// a third decimal ("1.234": a fraction of a penny); OUT_OF_RANGE when it does not fit.
absl::StatusOr<int64_t> ParsePounds(std::string_view text);

struct FormatOptions {
  bool symbol = false;    // prefix "£"
  bool grouping = false;  // thousands separators
};
// Pounds with exactly two decimals: -123456 -> "-1234.56".
std::string FormatPounds(int64_t pence, FormatOptions options = {});

// numerator / denominator rounded half to even, exactly (128-bit intermediate). The
// denominator must be positive; OUT_OF_RANGE if the quotient does not fit in int64.
absl::StatusOr<int64_t> DivideHalfEven(__int128 numerator, __int128 denominator);

}  // namespace dorset::finance::money

#endif  // DORSET_SERVICES_FINANCE_MONEY_MONEY_H_
