// The ordered JSON value of the FHIR face (see fhir_json.h).
#include "gateway/fhir/fhir_json.h"

#include <cassert>
#include <cstdint>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace dorset::gateway::fhir {
namespace {

// Whether any of the 8 bytes at `p` is below 0x20, '"' or '\\' (the bytes JSON escapes), by
// the usual SWAR tests: a byte of (x - n) borrows into bit 7 only where x < n.
bool NeedsEscapeIn8(const char* p) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  uint64_t x;
  std::memcpy(&x, p, 8);
  const auto zero_byte = [](uint64_t v) { return (v - kOnes) & ~v & kHigh; };
  const uint64_t below_space = (x - kOnes * 0x20) & ~x & kHigh;
  return (below_space | zero_byte(x ^ (kOnes * '"')) | zero_byte(x ^ (kOnes * '\\'))) != 0;
}

void AppendQuoted(std::string& out, absl::string_view text) {
  out.push_back('"');
  size_t plain = 0;  // start of the run copied as it is (most text needs no escape at all)
  for (size_t i = 0; i < text.size(); ++i) {
    // Eight bytes at a time while none is a control character, '"' or '\\' (the URLs and
    // names of a search page are tens of kilobytes, nearly all of it plain).
    while (i + 8 <= text.size() && !NeedsEscapeIn8(text.data() + i)) i += 8;
    if (i >= text.size()) break;
    const char c = text[i];
    if (c != '"' && c != '\\' && static_cast<unsigned char>(c) >= 0x20) continue;
    out.append(text.data() + plain, i - plain);
    plain = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        absl::StrAppendFormat(&out, "\\u%04x", static_cast<unsigned char>(c));
    }
  }
  // UTF-8 passes through: the registry's text is valid UTF-8.
  out.append(text.data() + plain, text.size() - plain);
  out.push_back('"');
}

}  // namespace

Json Json::String(absl::string_view text) {
  Json value;
  value.text_.clear();
  AppendQuoted(value.text_, text);
  return value;
}

Json Json::Int(int64_t number) {
  Json value;
  value.text_ = absl::StrCat(number);
  return value;
}

Json Json::Bool(bool flag) {
  Json value;
  value.text_ = flag ? "true" : "false";
  return value;
}

void Json::Key(absl::string_view key) {
  assert(close_ == '}');
#ifndef NDEBUG
  for (const std::string& seen : keys_) assert(seen != key);  // a key set twice
  keys_.emplace_back(key);
#endif
  Separator();
  AppendQuoted(text_, key);
  text_.push_back(':');
}

void Json::Append(const Json& value) {
  text_.append(value.text_);
  if (value.close_ != 0) text_.push_back(value.close_);
}

Json& Json::Set(absl::string_view key, const Json& value) & {
  Key(key);
  Append(value);
  return *this;
}

Json& Json::Set(absl::string_view key, absl::string_view text) & {
  Key(key);
  AppendQuoted(text_, text);
  return *this;
}

Json& Json::SetIfNotEmpty(absl::string_view key, absl::string_view text) & {
  if (!text.empty()) Set(key, text);
  return *this;
}

Json& Json::Add(const Json& value) & {
  assert(close_ == ']');
  Separator();
  Append(value);
  return *this;
}

std::string Json::Serialize() const& {
  std::string out = text_;
  if (close_ != 0) out.push_back(close_);
  return out;
}

std::string Json::Serialize() && {
  if (close_ != 0) text_.push_back(close_);
  close_ = 0;
  return std::move(text_);
}

}  // namespace dorset::gateway::fhir
