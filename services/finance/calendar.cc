#include "services/finance/calendar.h"

#include <array>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "runtime/status/errors.h"

namespace dorset::finance {

absl::StatusOr<int> ParseFinancialYear(std::string_view text, std::string_view field) {
  const auto bad = [&] {
    return runtime::InvalidArgument(
        field,
        absl::StrCat("a financial year is written like \"2020-21\", from ",
                     FormatFinancialYear(kFirstYear), " to ", FormatFinancialYear(kLastYear)));
  };
  if (text.size() != 7 || text[4] != '-') return bad();
  int start = 0;
  int end = 0;
  for (int i = 0; i < 7; ++i) {
    if (i == 4) continue;
    if (text[i] < '0' || text[i] > '9') return bad();
    if (i < 4)
      start = start * 10 + (text[i] - '0');
    else
      end = end * 10 + (text[i] - '0');
  }
  if ((start + 1) % 100 != end || start < kFirstYear || start > kLastYear) return bad();
  return start;
}

std::string FormatFinancialYear(int year) {
  // Every reply naming a posting formats its year: digits by hand, not a format string (issue 16).
  if (year >= 0 && year <= 9999) {
    const int next = (year + 1) % 100;
    return {static_cast<char>('0' + year / 1000),
            static_cast<char>('0' + year / 100 % 10),
            static_cast<char>('0' + year / 10 % 10),
            static_cast<char>('0' + year % 10),
            '-',
            static_cast<char>('0' + next / 10),
            static_cast<char>('0' + next % 10)};
  }
  return absl::StrFormat("%04d-%02d", year, (year + 1) % 100);
}

absl::Status CheckMonth(int month, std::string_view field) {
  if (month < 1 || month > 12) {
    return runtime::InvalidArgument(field, "month must be 1 (M1, April) to 12 (M12, March)");
  }
  return absl::OkStatus();
}

std::string MonthLabel(int month) {
  static constexpr std::array<const char*, 12> kNames = {"Apr", "May", "Jun", "Jul", "Aug", "Sep",
                                                         "Oct", "Nov", "Dec", "Jan", "Feb", "Mar"};
  if (month < 1 || month > 12) return absl::StrCat("M", month);
  return absl::StrCat("M", month, " ", kNames[month - 1]);
}

}  // namespace dorset::finance
