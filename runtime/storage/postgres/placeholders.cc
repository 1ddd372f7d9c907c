#include "runtime/storage/postgres/placeholders.h"

#include <cctype>

namespace dorset::runtime::storage {
namespace {

// At sql[i] == '$': the length of a dollar-quote tag ($$ or $name$), or 0 when it is not one
// (e.g. a $1 parameter).
size_t DollarTag(std::string_view sql, size_t i) {
  size_t j = i + 1;
  if (j < sql.size() && std::isdigit(static_cast<unsigned char>(sql[j]))) return 0;
  while (j < sql.size() && (std::isalnum(static_cast<unsigned char>(sql[j])) || sql[j] == '_')) {
    ++j;
  }
  return j < sql.size() && sql[j] == '$' ? j - i + 1 : 0;
}

}  // namespace

std::string RewritePlaceholders(std::string_view sql, int* count) {
  std::string out;
  out.reserve(sql.size() + 16);
  int n = 0;
  size_t i = 0;
  // Copies sql[i..end) verbatim and moves past it.
  auto copy_to = [&](size_t end) {
    end = end == std::string_view::npos ? sql.size() : end;
    out.append(sql.substr(i, end - i));
    i = end;
  };
  while (i < sql.size()) {
    const char c = sql[i];
    if (c == '?') {
      out += '$';
      out += std::to_string(++n);
      ++i;
    } else if (c == '\'' || c == '"') {
      // A doubled quote inside is an escaped quote: the scan simply closes and reopens.
      const size_t close = sql.find(c, i + 1);
      copy_to(close == std::string_view::npos ? close : close + 1);
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      copy_to(sql.find('\n', i));
    } else if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      const size_t close = sql.find("*/", i + 2);
      copy_to(close == std::string_view::npos ? close : close + 2);
    } else if (c == '$' && DollarTag(sql, i) > 0) {
      const std::string_view tag = sql.substr(i, DollarTag(sql, i));
      const size_t close = sql.find(tag, i + tag.size());
      copy_to(close == std::string_view::npos ? close : close + tag.size());
    } else {
      out += c;
      ++i;
    }
  }
  if (count != nullptr) *count = n;
  return out;
}

}  // namespace dorset::runtime::storage
