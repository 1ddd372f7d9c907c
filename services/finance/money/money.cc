#include "services/finance/money/money.h"

#include <limits>

#include "absl/strings/str_cat.h"

namespace dorset::finance::money {
namespace {

constexpr std::string_view kPound = "\xC2\xA3";  // "£" in UTF-8

absl::Status Overflow() { return absl::OutOfRangeError("amount does not fit in 64-bit pence"); }

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

absl::Status Malformed(std::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("not an amount in pounds: ", absl::string_view(why.data(), why.size())));
}

// Checks the integer part's digits and, when commas are present, that they separate groups of
// three with a first group of one to three digits.
absl::Status CheckIntegerPart(std::string_view part) {
  if (part.empty()) return Malformed("no digits before the decimal point");
  if (part.find(',') == std::string_view::npos) {
    for (char c : part) {
      if (!IsDigit(c)) return Malformed("unexpected character");
    }
    return absl::OkStatus();
  }
  size_t group = 0;  // digits since the last comma (or the start)
  bool first = true;
  for (char c : part) {
    if (c == ',') {
      if (group == 0 || group > 3 || (!first && group != 3)) {
        return Malformed("misplaced thousands separator");
      }
      first = false;
      group = 0;
    } else if (IsDigit(c)) {
      ++group;
    } else {
      return Malformed("unexpected character");
    }
  }
  if (group != 3) return Malformed("misplaced thousands separator");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<int64_t> CheckedAdd(int64_t a, int64_t b) {
  int64_t out;
  if (__builtin_add_overflow(a, b, &out)) return Overflow();
  return out;
}

absl::StatusOr<int64_t> CheckedSub(int64_t a, int64_t b) {
  int64_t out;
  if (__builtin_sub_overflow(a, b, &out)) return Overflow();
  return out;
}

absl::StatusOr<int64_t> CheckedMul(int64_t a, int64_t b) {
  int64_t out;
  if (__builtin_mul_overflow(a, b, &out)) return Overflow();
  return out;
}

absl::StatusOr<int64_t> CheckedNeg(int64_t a) { return CheckedSub(0, a); }

absl::StatusOr<int64_t> CheckedSum(std::span<const int64_t> amounts) {
  int64_t total = 0;
  for (int64_t a : amounts) {
    if (__builtin_add_overflow(total, a, &total)) return Overflow();
  }
  return total;
}

absl::StatusOr<int64_t> Pounds(int64_t pounds) { return CheckedMul(pounds, kPencePerPound); }

absl::StatusOr<int64_t> ParsePounds(std::string_view text) {
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && s.front() == '-') {
    negative = true;
    s.remove_prefix(1);
  }
  if (s.substr(0, kPound.size()) == kPound) s.remove_prefix(kPound.size());
  if (!negative && !s.empty() && s.front() == '-') {
    negative = true;
    s.remove_prefix(1);
  }
  if (s.empty()) return Malformed("empty");
  const size_t dot = s.find('.');
  std::string_view whole = s.substr(0, dot);
  std::string_view fraction = dot == std::string_view::npos ? "" : s.substr(dot + 1);
  if (absl::Status ok = CheckIntegerPart(whole); !ok.ok()) return ok;
  if (dot != std::string_view::npos) {
    if (fraction.empty()) return Malformed("no digits after the decimal point");
    for (char c : fraction) {
      if (!IsDigit(c)) return Malformed("unexpected character after the decimal point");
    }
    if (fraction.size() > 2) {
      return absl::InvalidArgumentError(
          "amount has more than two decimals: a fraction of a penny is not money");
    }
  }
  // Accumulate as a negative number so that INT64_MIN pence parses too.
  int64_t pence = 0;
  for (char c : whole) {
    if (c == ',') continue;
    if (__builtin_mul_overflow(pence, 10, &pence) ||
        __builtin_sub_overflow(pence, c - '0', &pence)) {
      return Overflow();
    }
  }
  for (size_t i = 0; i < 2; ++i) {
    const int digit = i < fraction.size() ? fraction[i] - '0' : 0;
    if (__builtin_mul_overflow(pence, 10, &pence) || __builtin_sub_overflow(pence, digit, &pence)) {
      return Overflow();
    }
  }
  if (negative) return pence;
  return CheckedNeg(pence);
}

std::string FormatPounds(int64_t pence, FormatOptions options) {
  // Work on the magnitude as unsigned so INT64_MIN formats correctly.
  const bool negative = pence < 0;
  const uint64_t magnitude = negative ? static_cast<uint64_t>(0) - static_cast<uint64_t>(pence)
                                      : static_cast<uint64_t>(pence);
  const uint64_t pounds = magnitude / 100;
  const uint64_t rest = magnitude % 100;
  std::string digits = absl::StrCat(pounds);
  if (options.grouping) {
    std::string grouped;
    const size_t n = digits.size();
    for (size_t i = 0; i < n; ++i) {
      if (i > 0 && (n - i) % 3 == 0) grouped.push_back(',');
      grouped.push_back(digits[i]);
    }
    digits = std::move(grouped);
  }
  std::string out;
  if (negative) out.push_back('-');
  if (options.symbol) out.append(kPound);
  absl::StrAppend(&out, digits, ".", rest < 10 ? "0" : "", rest);
  return out;
}

absl::StatusOr<int64_t> DivideHalfEven(__int128 numerator, __int128 denominator) {
  if (denominator <= 0) return absl::InvalidArgumentError("divisor must be positive");
  __int128 quotient = numerator / denominator;   // truncates toward zero
  __int128 remainder = numerator % denominator;  // same sign as numerator
  const __int128 twice = (remainder < 0 ? -remainder : remainder) * 2;
  if (twice > denominator || (twice == denominator && (quotient % 2 != 0))) {
    quotient += numerator < 0 ? -1 : 1;
  }
  if (quotient > std::numeric_limits<int64_t>::max() ||
      quotient < std::numeric_limits<int64_t>::min()) {
    return Overflow();
  }
  return static_cast<int64_t>(quotient);
}

}  // namespace dorset::finance::money
