// The direct canonical JSON printer (see json_printer.h). Each rule below is protobuf util's
// (3.21, MessageToJsonString with default options), checked against it by json_printer_test.
#include "gateway/json_printer.h"

#include <cstdint>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gateway/civil_time.h"
#include "google/protobuf/descriptor.h"

namespace dorset::gateway {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

constexpr char kHex[] = "0123456789abcdef";

void AppendU16(std::string* out, uint32_t unit) {
  const char escaped[6] = {'\\',
                           'u',
                           kHex[(unit >> 12) & 0xf],
                           kHex[(unit >> 8) & 0xf],
                           kHex[(unit >> 4) & 0xf],
                           kHex[unit & 0xf]};
  out->append(escaped, 6);
}

// Code points util escapes although JSON does not require it (invisible and formatting
// characters that have caused trouble in JavaScript).
bool EscapedCodePoint(uint32_t cp) {
  switch (cp) {
    case 0x00ad:
    case 0x06dd:
    case 0x070f:
    case 0x17b4:
    case 0x17b5:
    case 0xfeff:
    case 0xfff9:
    case 0xfffa:
    case 0xfffb:
      return true;
    default:
      return (cp >= 0x0600 && cp <= 0x0603) || (cp >= 0x200b && cp <= 0x200f) ||
             (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2064) ||
             (cp >= 0x206a && cp <= 0x206f);
  }
}

bool EscapedSupplementary(uint32_t cp) {
  return cp == 0xe0001 || (cp >= 0x1d173 && cp <= 0x1d17a) || (cp >= 0xe0020 && cp <= 0xe007f);
}

// Appends `text` as a quoted JSON string escaped as util escapes it; false for text that is not
// valid UTF-8 (util drops such bytes: the caller prints with util instead).
bool AppendString(std::string* out, const std::string& text) {
  out->push_back('"');
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t plain = 0;  // start of the run of bytes copied as they are
  size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '<' && c != '>') {
      ++i;
      continue;
    }
    out->append(text, plain, i - plain);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out->append("\\\"");
          break;
        case '\\':
          out->append("\\\\");
          break;
        case '\b':
          out->append("\\b");
          break;
        case '\t':
          out->append("\\t");
          break;
        case '\n':
          out->append("\\n");
          break;
        case '\f':
          out->append("\\f");
          break;
        case '\r':
          out->append("\\r");
          break;
        default:  // other controls, '<', '>', DEL
          AppendU16(out, c);
      }
      plain = ++i;
      continue;
    }
    // A multi-byte sequence: decode it (shortest forms are not required by util: it checks the
    // lead and continuation bytes, surrogates and the range only).
    size_t length;
    uint32_t cp;
    if (c < 0xc0) return false;
    if (c < 0xe0) {
      length = 2;
      cp = c & 0x1f;
    } else if (c < 0xf0) {
      length = 3;
      cp = c & 0x0f;
    } else if (c < 0xf8) {
      length = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + length > n) return false;
    for (size_t k = 1; k < length; ++k) {
      const unsigned char next = p[i + k];
      if (next < 0x80 || next > 0xbf) return false;
      cp = (cp << 6) | (next & 0x3f);
    }
    if ((cp & 0xfffff800) == 0xd800 || cp > 0x10ffff) return false;
    if (cp < 0xa0 || EscapedCodePoint(cp)) {
      AppendU16(out, cp);
    } else if (EscapedSupplementary(cp)) {
      AppendU16(out, 0xd800 + ((cp - 0x10000) >> 10));
      AppendU16(out, 0xdc00 + ((cp - 0x10000) & 0x3ff));
    } else {
      out->append(text, i, length);
    }
    i += length;
    plain = i;
  }
  out->append(text, plain, n - plain);
  out->push_back('"');
  return true;
}

void AppendDigits(std::string* out, int64_t value, int width) {
  char buffer[20];
  int k = 0;
  do {
    buffer[k++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value > 0 || k < width);
  while (k > 0) out->push_back(buffer[--k]);
}

// RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits, as util's TimeUtil::ToString.
bool AppendTimestamp(std::string* out, int64_t seconds, int32_t nanos) {
  constexpr int64_t kMin = -62135596800;  // 0001-01-01T00:00:00Z
  constexpr int64_t kMax = 253402300799;  // 9999-12-31T23:59:59Z
  if (seconds < kMin || seconds > kMax || nanos < 0 || nanos > 999999999) return false;
  const CivilUtc t = CivilUtcFromUnixSeconds(seconds);
  out->push_back('"');
  AppendDigits(out, t.year, 4);
  out->push_back('-');
  AppendDigits(out, t.month, 2);
  out->push_back('-');
  AppendDigits(out, t.day, 2);
  out->push_back('T');
  AppendDigits(out, t.hour, 2);
  out->push_back(':');
  AppendDigits(out, t.minute, 2);
  out->push_back(':');
  AppendDigits(out, t.second, 2);
  if (nanos != 0) {
    out->push_back('.');
    if (nanos % 1000000 == 0) {
      AppendDigits(out, nanos / 1000000, 3);
    } else if (nanos % 1000 == 0) {
      AppendDigits(out, nanos / 1000, 6);
    } else {
      AppendDigits(out, nanos, 9);
    }
  }
  out->append("Z\"");
  return true;
}

bool IsTimestamp(const Descriptor* type) {
  return type->full_name() == "google.protobuf.Timestamp";
}

bool IsWellKnown(const Descriptor* type) { return type->file()->package() == "google.protobuf"; }

bool AppendMessage(std::string* out, const Message& message);

// One value of `field` (element `index` when repeated).
bool AppendValue(std::string* out, const Message& message, const FieldDescriptor* field,
                 int index) {
  const Reflection* r = message.GetReflection();
  const bool repeated = field->is_repeated();
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      absl::StrAppend(
          out, repeated ? r->GetRepeatedInt32(message, field, index) : r->GetInt32(message, field));
      return true;
    case FieldDescriptor::CPPTYPE_UINT32:
      absl::StrAppend(out, repeated ? r->GetRepeatedUInt32(message, field, index)
                                    : r->GetUInt32(message, field));
      return true;
    case FieldDescriptor::CPPTYPE_INT64:  // 64-bit integers are strings in JSON
      out->push_back('"');
      absl::StrAppend(
          out, repeated ? r->GetRepeatedInt64(message, field, index) : r->GetInt64(message, field));
      out->push_back('"');
      return true;
    case FieldDescriptor::CPPTYPE_UINT64:
      out->push_back('"');
      absl::StrAppend(out, repeated ? r->GetRepeatedUInt64(message, field, index)
                                    : r->GetUInt64(message, field));
      out->push_back('"');
      return true;
    case FieldDescriptor::CPPTYPE_BOOL:
      out->append(
          (repeated ? r->GetRepeatedBool(message, field, index) : r->GetBool(message, field))
              ? "true"
              : "false");
      return true;
    case FieldDescriptor::CPPTYPE_ENUM: {
      const int number = repeated ? r->GetRepeatedEnumValue(message, field, index)
                                  : r->GetEnumValue(message, field);
      const google::protobuf::EnumValueDescriptor* value =
          field->enum_type()->FindValueByNumber(number);
      if (value == nullptr || field->enum_type()->full_name() == "google.protobuf.NullValue") {
        return false;
      }
      out->push_back('"');
      out->append(value->name());  // enum value names are identifiers: nothing to escape
      out->push_back('"');
      return true;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& text = repeated
                                    ? r->GetRepeatedStringReference(message, field, index, &scratch)
                                    : r->GetStringReference(message, field, &scratch);
      if (field->type() == FieldDescriptor::TYPE_BYTES) {
        out->push_back('"');
        out->append(absl::Base64Escape(text));
        out->push_back('"');
        return true;
      }
      return AppendString(out, text);
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      const Message& child =
          repeated ? r->GetRepeatedMessage(message, field, index) : r->GetMessage(message, field);
      const Descriptor* type = field->message_type();
      if (IsTimestamp(type)) {
        const Reflection* tr = child.GetReflection();
        return AppendTimestamp(out, tr->GetInt64(child, type->field(0)),
                               tr->GetInt32(child, type->field(1)));
      }
      if (IsWellKnown(type) && type->full_name() != "google.protobuf.Empty") return false;
      if (type->file()->syntax() != google::protobuf::FileDescriptor::SYNTAX_PROTO3) return false;
      return AppendMessage(out, child);
    }
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT:
      return false;  // util's float formatting is not reproduced here
  }
  return false;
}

bool AppendMessage(std::string* out, const Message& message) {
  const Reflection* r = message.GetReflection();
  // The fields present, in field-number order: the order util prints them in, as it reads them
  // from the serialised message (proto3 omits default scalars; oneof members, optional fields
  // and messages that are set are present even when empty or zero).
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(message, &fields);
  out->push_back('{');
  bool first = true;
  for (const FieldDescriptor* field : fields) {
    if (field->is_map() || field->is_extension() || field->type() == FieldDescriptor::TYPE_GROUP) {
      return false;
    }
    if (!first) out->push_back(',');
    first = false;
    out->push_back('"');
    out->append(field->json_name());
    out->append("\":");
    if (field->is_repeated()) {
      out->push_back('[');
      const int size = r->FieldSize(message, field);
      for (int i = 0; i < size; ++i) {
        if (i > 0) out->push_back(',');
        if (!AppendValue(out, message, field, i)) return false;
      }
      out->push_back(']');
    } else if (!AppendValue(out, message, field, -1)) {
      return false;
    }
  }
  out->push_back('}');
  return true;
}

}  // namespace

bool PrintCanonicalJson(const Message& message, std::string* out) {
  const Descriptor* type = message.GetDescriptor();
  if (IsWellKnown(type) ||
      type->file()->syntax() != google::protobuf::FileDescriptor::SYNTAX_PROTO3) {
    return false;
  }
  return AppendMessage(out, message);
}

}  // namespace dorset::gateway
