// Financial years and months as the NHS writes them: "2020-21" runs from April 2020 (M1) to
// March 2021 (M12). Inside the service a year is its starting calendar year (2020).
#ifndef DORSET_SERVICES_FINANCE_CALENDAR_H_
#define DORSET_SERVICES_FINANCE_CALENDAR_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace dorset::finance {

// The years the service tracks: the STP's horizon 2016-17 to 2020-21.
inline constexpr int kFirstYear = 2016;
inline constexpr int kLastYear = 2020;

// "2020-21" -> 2020. INVALID_ARGUMENT naming `field` when malformed or outside the horizon.
absl::StatusOr<int> ParseFinancialYear(std::string_view text, std::string_view field);
// 2020 -> "2020-21".
std::string FormatFinancialYear(int year);
// 1..12 (M1 = April) or INVALID_ARGUMENT naming `field`.
absl::Status CheckMonth(int month, std::string_view field);
// "M1 Apr" ... "M12 Mar", for people.
std::string MonthLabel(int month);

}  // namespace dorset::finance

#endif  // DORSET_SERVICES_FINANCE_CALENDAR_H_
