// The ordered JSON value of the FHIR face (see fhir_json.h).
#include "gateway/fhir/fhir_json.h"

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
  Json value(Kind::kString);
  value.text_ = std::string(text);
  return value;
}

Json Json::Int(int64_t number) {
  Json value(Kind::kInt);
  value.number_ = number;
  return value;
}

Json Json::Bool(bool flag) {
  Json value(Kind::kBool);
  value.flag_ = flag;
  return value;
}

Json& Json::Set(absl::string_view key, Json value) & {
  for (auto& [name, member] : members_) {
    if (name == key) {
      member = std::move(value);
      return *this;
    }
  }
  if (members_.empty()) members_.reserve(4);  // most objects of a resource have 2-4 members
  members_.emplace_back(std::string(key), std::move(value));
  return *this;
}

Json& Json::SetIfNotEmpty(absl::string_view key, absl::string_view text) & {
  if (!text.empty()) Set(key, String(text));
  return *this;
}

Json& Json::Add(Json value) & {
  items_.push_back(std::move(value));
  return *this;
}

const Json* Json::Find(absl::string_view key) const {
  for (const auto& [name, member] : members_) {
    if (name == key) return &member;
  }
  return nullptr;
}

std::string Json::Serialize() const {
  std::string out;
  out.reserve(4096);
  AppendTo(out);
  return out;
}

void Json::AppendTo(std::string& out) const {
  switch (kind_) {
    case Kind::kNull:
      out += "null";
      return;
    case Kind::kString:
      AppendQuoted(out, text_);
      return;
    case Kind::kInt:
      absl::StrAppend(&out, number_);
      return;
    case Kind::kBool:
      out += flag_ ? "true" : "false";
      return;
    case Kind::kArray:
      out.push_back('[');
      for (size_t i = 0; i < items_.size(); ++i) {
        if (i > 0) out.push_back(',');
        items_[i].AppendTo(out);
      }
      out.push_back(']');
      return;
    case Kind::kObject:
      out.push_back('{');
      for (size_t i = 0; i < members_.size(); ++i) {
        if (i > 0) out.push_back(',');
        AppendQuoted(out, members_[i].first);
        out.push_back(':');
        members_[i].second.AppendTo(out);
      }
      out.push_back('}');
      return;
  }
}

}  // namespace dorset::gateway::fhir
