#include "services/registry/validation.h"

#include <array>
#include <cctype>

#include "services/registry/text.h"

namespace dorset::registry {
namespace {

bool Upper(char c) { return c >= 'A' && c <= 'Z'; }
bool Digit(char c) { return c >= '0' && c <= '9'; }

bool AllOf(std::string_view s, bool (*pred)(char)) {
  for (char c : s) {
    if (!pred(c)) return false;
  }
  return true;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

bool RealDate(int y, int m, int d) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1800 || y > 2999 || m < 1 || m > 12 || d < 1) return false;
  const int days = kDays[m - 1] + (m == 2 && IsLeap(y) ? 1 : 0);
  return d <= days;
}

int Num(std::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

std::string Iso(int y, int m, int d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
  return buf;
}

}  // namespace

bool IsPracticeCode(std::string_view code) {
  if (code.size() != 6) return false;
  if (Upper(code[0]) && AllOf(code.substr(1), Digit)) return true;
  return AllOf(code.substr(0, 3), Upper) && AllOf(code.substr(3), Digit);
}

bool IsOrganisationCode(std::string_view code) {
  if (code.size() < 3 || code.size() > 5) return false;
  for (char c : code) {
    if (!Upper(c) && !Digit(c)) return false;
  }
  return true;
}

std::optional<std::string> NormalizePostcode(std::string_view postcode) {
  std::string compact;
  for (char c : postcode) {
    if (c == ' ') continue;
    const char u = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (!Upper(u) && !Digit(u)) return std::nullopt;
    compact.push_back(u);
  }
  // Outward code: A9, A99, AA9, AA99, A9A, AA9A; inward code: 9AA.
  if (compact.size() < 5 || compact.size() > 7) return std::nullopt;
  const std::string_view inward = std::string_view(compact).substr(compact.size() - 3);
  const std::string_view outward = std::string_view(compact).substr(0, compact.size() - 3);
  if (!Digit(inward[0]) || !Upper(inward[1]) || !Upper(inward[2])) return std::nullopt;
  size_t i = 0;
  if (!Upper(outward[i++])) return std::nullopt;
  if (i < outward.size() && Upper(outward[i])) ++i;
  if (i >= outward.size() || !Digit(outward[i++])) return std::nullopt;
  if (i < outward.size() && (Digit(outward[i]) || Upper(outward[i]))) ++i;
  if (i != outward.size()) return std::nullopt;
  return std::string(outward) + " " + std::string(inward);
}

std::string PostcodeKey(std::string_view postcode) {
  std::string key;
  for (char c : postcode) {
    if (c != ' ') key.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return key;
}

std::optional<std::string> OdsDateToIso(std::string_view s) {
  if (s.size() != 8 || !AllOf(s, Digit)) return std::nullopt;
  const int y = Num(s.substr(0, 4)), m = Num(s.substr(4, 2)), d = Num(s.substr(6, 2));
  if (!RealDate(y, m, d)) return std::nullopt;
  // Iso(y, m, d) without snprintf: the digits are the input's (issue 16: once per date field of
  // every epraccur row).
  std::string iso(10, '-');
  s.copy(iso.data(), 4, 0);
  s.copy(iso.data() + 5, 2, 4);
  s.copy(iso.data() + 8, 2, 6);
  return iso;
}

bool IsIsoDate(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  if (!AllOf(s.substr(0, 4), Digit) || !AllOf(s.substr(5, 2), Digit) ||
      !AllOf(s.substr(8, 2), Digit)) {
    return false;
  }
  return RealDate(Num(s.substr(0, 4)), Num(s.substr(5, 2)), Num(s.substr(8, 2)));
}

std::optional<std::string> DayMonthYearToIso(std::string_view s) {
  static constexpr std::array<std::string_view, 12> kMonths = {
      "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
  if (s.size() != 9 || !AllOf(s.substr(0, 2), Digit) || !AllOf(s.substr(5, 4), Digit)) {
    return std::nullopt;
  }
  std::string month(s.substr(2, 3));
  for (char& c : month) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (int m = 0; m < 12; ++m) {
    if (kMonths[m] == month) {
      const int y = Num(s.substr(5, 4)), d = Num(s.substr(0, 2));
      if (!RealDate(y, m + 1, d)) return std::nullopt;
      return Iso(y, m + 1, d);
    }
  }
  return std::nullopt;
}

bool IsGoodName(std::string_view name) {
  if (name.empty() || !IsValidUtf8(name) || FirstControlCharacter(name).has_value() ||
      CodePointCount(name) > static_cast<size_t>(kMaxNameLength)) {
    return false;
  }
  return name.find_first_not_of(' ') != std::string_view::npos;
}

bool IsSlug(std::string_view id) {
  if (id.empty() || id.size() > 63) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    const bool alnum = (c >= 'a' && c <= 'z') || Digit(c);
    if (!alnum && (c != '-' || i == 0)) return false;
  }
  return true;
}

bool IsTelephone(std::string_view telephone) {
  if (telephone.size() > kMaxTelephoneLength) return false;
  for (char c : telephone) {
    if (!Digit(c) && c != ' ' && c != '+' && c != '(' && c != ')' && c != '-') return false;
  }
  return true;
}

std::optional<std::string> IdFromName(std::string_view name, std::string_view collection) {
  if (name.size() <= collection.size() + 1 || name.substr(0, collection.size()) != collection ||
      name[collection.size()] != '/') {
    return std::nullopt;
  }
  std::string_view id = name.substr(collection.size() + 1);
  if (id.find('/') != std::string_view::npos) return std::nullopt;
  return std::string(id);
}

}  // namespace dorset::registry
