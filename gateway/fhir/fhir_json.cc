// The ordered JSON value of the FHIR face (see fhir_json.h).
#include "gateway/fhir/fhir_json.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace dorset::gateway::fhir {
namespace {

void AppendQuoted(std::string& out, absl::string_view text) {
  out.push_back('"');
  for (char c : text) {
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
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", static_cast<unsigned char>(c));
        } else {
          out.push_back(c);  // UTF-8 passes through: the registry's text is valid UTF-8
        }
    }
  }
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

Json& Json::Set(absl::string_view key, Json value) {
  for (auto& [name, member] : members_) {
    if (name == key) {
      member = std::move(value);
      return *this;
    }
  }
  members_.emplace_back(std::string(key), std::move(value));
  return *this;
}

Json& Json::SetIfNotEmpty(absl::string_view key, absl::string_view text) {
  if (!text.empty()) Set(key, String(text));
  return *this;
}

Json& Json::Add(Json value) {
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
