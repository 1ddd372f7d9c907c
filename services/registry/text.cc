#include "services/registry/text.h"

#include <array>
#include <cstdio>

namespace dorset::registry {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

// Windows-1252 0x80-0x9F; 0 marks the five undefined bytes.
constexpr std::array<char32_t, 32> kWindows1252High = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};

void AppendUtf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

// Decodes the code point at `i` of valid UTF-8 `s` and advances `i`.
char32_t NextCodePoint(std::string_view s, size_t& i) {
  const unsigned char b = static_cast<unsigned char>(s[i]);
  int extra = 0;
  char32_t c = b;
  if (b >= 0xF0) {
    extra = 3;
    c = b & 0x07;
  } else if (b >= 0xE0) {
    extra = 2;
    c = b & 0x0F;
  } else if (b >= 0xC0) {
    extra = 1;
    c = b & 0x1F;
  }
  ++i;
  for (int k = 0; k < extra && i < s.size(); ++k, ++i) {
    c = (c << 6) | (static_cast<unsigned char>(s[i]) & 0x3F);
  }
  return c;
}

bool IsControl(char32_t c) { return c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F); }

}  // namespace

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const unsigned char b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      ++i;
      continue;
    }
    int extra;
    char32_t c;
    char32_t min;
    if (b >= 0xC2 && b <= 0xDF) {
      extra = 1;
      c = b & 0x1F;
      min = 0x80;
    } else if (b >= 0xE0 && b <= 0xEF) {
      extra = 2;
      c = b & 0x0F;
      min = 0x800;
    } else if (b >= 0xF0 && b <= 0xF4) {
      extra = 3;
      c = b & 0x07;
      min = 0x10000;
    } else {
      return false;
    }
    if (n - i <= static_cast<size_t>(extra)) return false;
    for (int k = 1; k <= extra; ++k) {
      const unsigned char t = static_cast<unsigned char>(s[i + k]);
      if ((t & 0xC0) != 0x80) return false;
      c = (c << 6) | (t & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

std::string DecodeWindows1252(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 4);
  for (char ch : s) {
    const unsigned char b = static_cast<unsigned char>(ch);
    if (b < 0x80) {
      out.push_back(ch);
    } else if (b < 0xA0) {
      const char32_t c = kWindows1252High[b - 0x80];
      AppendUtf8(out, c == 0 ? kReplacement : c);
    } else {
      AppendUtf8(out, b);  // 0xA0-0xFF are the same code points in Latin-1 and Unicode
    }
  }
  return out;
}

std::string AsUtf8(std::string_view s) {
  return IsValidUtf8(s) ? std::string(s) : DecodeWindows1252(s);
}

std::optional<char32_t> FirstControlCharacter(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const char32_t c = NextCodePoint(s, i);
    if (IsControl(c)) return c;
  }
  return std::nullopt;
}

size_t CodePointCount(std::string_view s) {
  size_t n = 0;
  for (char ch : s) {
    if ((static_cast<unsigned char>(ch) & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::string CodePointName(char32_t c) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(c));
  return buf;
}

std::string ForReply(std::string_view s, size_t max_code_points) {
  const std::string utf8 = AsUtf8(s);
  std::string out;
  size_t count = 0;
  for (size_t i = 0; i < utf8.size();) {
    if (count == max_code_points) {
      out += "...";
      break;
    }
    const char32_t c = NextCodePoint(utf8, i);
    AppendUtf8(out, IsControl(c) ? kReplacement : c);
    ++count;
  }
  return out;
}

std::optional<std::string> TextProblem(std::string_view s, size_t max_code_points) {
  if (!IsValidUtf8(s)) return "is not valid UTF-8";
  if (std::optional<char32_t> c = FirstControlCharacter(s)) {
    return "contains a control character (" + CodePointName(*c) + ")";
  }
  if (CodePointCount(s) > max_code_points) {
    return "is longer than " + std::to_string(max_code_points) + " characters";
  }
  return std::nullopt;
}

std::optional<std::string> RepairedText(std::string_view s) {
  const bool valid = IsValidUtf8(s);
  if (valid && !FirstControlCharacter(s)) return std::nullopt;
  const std::string utf8 = valid ? std::string(s) : DecodeWindows1252(s);
  std::string out;
  out.reserve(utf8.size());
  for (size_t i = 0; i < utf8.size();) {
    const char32_t c = NextCodePoint(utf8, i);
    AppendUtf8(out, IsControl(c) ? U' ' : c);
  }
  return out;
}

}  // namespace dorset::registry
