#include "services/registry/stored_text.h"

#include <cstdint>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/reflection.h"
#include "runtime/status/errors.h"
#include "services/registry/text.h"

namespace dorset::registry {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

constexpr int kMaxDepth = 32;

// ---- request check ----

std::optional<std::string> FirstBadString(const Message& m, const std::string& prefix, int depth) {
  if (depth > kMaxDepth) return std::nullopt;
  const Reflection* r = m.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const FieldDescriptor* f : fields) {
    const std::string path = prefix.empty() ? f->name() : absl::StrCat(prefix, ".", f->name());
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_STRING &&
        f->type() == FieldDescriptor::TYPE_STRING) {
      if (f->is_repeated()) {
        for (int i = 0; i < r->FieldSize(m, f); ++i) {
          std::string scratch;
          if (!IsValidUtf8(r->GetRepeatedStringReference(m, f, i, &scratch))) {
            return absl::StrCat(path, "[", i, "]");
          }
        }
      } else {
        std::string scratch;
        if (!IsValidUtf8(r->GetStringReference(m, f, &scratch))) return path;
      }
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (f->is_repeated()) {
        for (int i = 0; i < r->FieldSize(m, f); ++i) {
          if (auto bad = FirstBadString(r->GetRepeatedMessage(m, f, i),
                                        absl::StrCat(path, "[", i, "]"), depth + 1)) {
            return bad;
          }
        }
      } else if (auto bad = FirstBadString(r->GetMessage(m, f), path, depth + 1)) {
        return bad;
      }
    }
  }
  return std::nullopt;
}

// ---- wire-format repair ----

bool ReadVarint(std::string_view in, size_t& pos, uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos >= in.size()) return false;
    const uint8_t b = static_cast<uint8_t>(in[pos++]);
    value |= static_cast<uint64_t>(b & 0x7F) << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

void WriteVarint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

// Copies `in` to `out`, repairing strings; false when `in` is not a readable wire stream.
bool Repair(const Descriptor* type, std::string_view in, std::string& out, bool& changed,
            int depth) {
  if (depth > kMaxDepth) return false;
  size_t pos = 0;
  while (pos < in.size()) {
    uint64_t tag = 0;
    if (!ReadVarint(in, pos, tag) || tag > UINT32_MAX || (tag >> 3) == 0) return false;
    WriteVarint(out, tag);
    const FieldDescriptor* f = type->FindFieldByNumber(static_cast<int>(tag >> 3));
    switch (tag & 7) {
      case 0: {  // varint
        uint64_t v = 0;
        if (!ReadVarint(in, pos, v)) return false;
        WriteVarint(out, v);
        break;
      }
      case 1:  // fixed64
        if (in.size() - pos < 8) return false;
        out.append(in.substr(pos, 8));
        pos += 8;
        break;
      case 5:  // fixed32
        if (in.size() - pos < 4) return false;
        out.append(in.substr(pos, 4));
        pos += 4;
        break;
      case 2: {  // length-delimited: a string, bytes, a message or a packed array
        uint64_t length = 0;
        if (!ReadVarint(in, pos, length) || length > in.size() - pos) return false;
        const std::string_view payload = in.substr(pos, length);
        pos += length;
        if (f != nullptr && f->type() == FieldDescriptor::TYPE_STRING) {
          if (std::optional<std::string> fixed = RepairedText(payload)) {
            changed = true;
            WriteVarint(out, fixed->size());
            out += *fixed;
            break;
          }
        } else if (f != nullptr && f->type() == FieldDescriptor::TYPE_MESSAGE) {
          std::string nested;
          bool nested_changed = false;
          if (!Repair(f->message_type(), payload, nested, nested_changed, depth + 1)) return false;
          if (nested_changed) {
            changed = true;
            WriteVarint(out, nested.size());
            out += nested;
            break;
          }
        }
        WriteVarint(out, payload.size());
        out.append(payload);
        break;
      }
      default:  // groups are not used by our (proto3) messages
        return false;
    }
  }
  return true;
}

}  // namespace

absl::Status CheckRequestText(const Message& request) {
  if (std::optional<std::string> field = FirstBadString(request, "", 0)) {
    return runtime::InvalidArgument(*field, "is not valid UTF-8");
  }
  return absl::OkStatus();
}

std::optional<std::string> RepairedMessageBytes(const Descriptor* type, std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() + 16);
  bool changed = false;
  if (!Repair(type, bytes, out, changed, 0) || !changed) return std::nullopt;
  return out;
}

bool ParseStored(std::string_view bytes, Message& message) {
  if (message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return true;
  std::optional<std::string> fixed = RepairedMessageBytes(message.GetDescriptor(), bytes);
  return fixed.has_value() && message.ParseFromString(*fixed);
}

}  // namespace dorset::registry
