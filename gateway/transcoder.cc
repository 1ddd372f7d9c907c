// Request and response transcoding (the rules are in transcoder.h).
#include "gateway/transcoder.h"

#include <cstdio>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gateway/json_printer.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"
#include "runtime/status/errors.h"

namespace dorset::gateway {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

const FieldDescriptor* FindField(const Descriptor* message, const std::string& name) {
  if (const FieldDescriptor* field = message->FindFieldByName(name)) return field;
  for (int i = 0; i < message->field_count(); ++i) {
    if (message->field(i)->json_name() == name) return message->field(i);
  }
  return nullptr;
}

absl::Status Bad(std::string_view field, std::string_view description) {
  return runtime::InvalidArgument(field, description);
}

absl::Status ParseJsonInto(std::string_view json, Message* message, std::string_view field) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), message, options);
  if (!status.ok()) return Bad(field, std::string(status.message()));
  return absl::OkStatus();
}

// Sets (or, for a repeated field, appends) one scalar or message leaf from its text form.
absl::Status SetLeaf(Message* message, const FieldDescriptor* field, const std::string& text,
                     const std::string& name) {
  const Reflection* reflection = message->GetReflection();
  const bool repeated = field->is_repeated();
  auto bad_value = [&](std::string_view type) {
    return Bad(name, absl::StrCat("\"", text, "\" is not a valid ", std::string(type)));
  };
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string value = text;
      if (field->type() == FieldDescriptor::TYPE_BYTES) {
        if (!absl::WebSafeBase64Unescape(text, &value) && !absl::Base64Unescape(text, &value)) {
          return bad_value("base64 value");
        }
      }
      repeated ? reflection->AddString(message, field, value)
               : reflection->SetString(message, field, value);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_INT32: {
      int32_t value;
      if (!absl::SimpleAtoi(text, &value)) return bad_value("32-bit integer");
      repeated ? reflection->AddInt32(message, field, value)
               : reflection->SetInt32(message, field, value);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t value;
      if (!absl::SimpleAtoi(text, &value)) return bad_value("64-bit integer");
      repeated ? reflection->AddInt64(message, field, value)
               : reflection->SetInt64(message, field, value);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t value;
      if (!absl::SimpleAtoi(text, &value)) return bad_value("unsigned 32-bit integer");
      repeated ? reflection->AddUInt32(message, field, value)
               : reflection->SetUInt32(message, field, value);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t value;
      if (!absl::SimpleAtoi(text, &value)) return bad_value("unsigned 64-bit integer");
      repeated ? reflection->AddUInt64(message, field, value)
               : reflection->SetUInt64(message, field, value);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      double value;
      if (!absl::SimpleAtod(text, &value)) return bad_value("number");
      repeated ? reflection->AddDouble(message, field, value)
               : reflection->SetDouble(message, field, value);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_FLOAT: {
      float value;
      if (!absl::SimpleAtof(text, &value)) return bad_value("number");
      repeated ? reflection->AddFloat(message, field, value)
               : reflection->SetFloat(message, field, value);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      bool value;
      if (text == "true") {
        value = true;
      } else if (text == "false") {
        value = false;
      } else {
        return bad_value("boolean (true or false)");
      }
      repeated ? reflection->AddBool(message, field, value)
               : reflection->SetBool(message, field, value);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const google::protobuf::EnumValueDescriptor* value =
          field->enum_type()->FindValueByName(text);
      int number;
      if (value == nullptr && absl::SimpleAtoi(text, &number)) {
        value = field->enum_type()->FindValueByNumber(number);
      }
      if (value == nullptr) {
        return Bad(name, absl::StrCat("\"", text, "\" is not a value of ",
                                      field->enum_type()->full_name()));
      }
      repeated ? reflection->AddEnum(message, field, value)
               : reflection->SetEnum(message, field, value);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      // Well-known types (Timestamp, FieldMask, Duration, wrappers) take a JSON string form.
      Message* leaf = repeated ? reflection->AddMessage(message, field)
                               : reflection->MutableMessage(message, field);
      leaf->Clear();
      return ParseJsonInto(JsonQuote(text), leaf, name);
    }
  }
  return Bad(name, "unsupported field type");
}

// Walks `path` from `message`, creating nested messages, and sets the leaf from `text`.
absl::Status SetPath(Message* message, const std::vector<std::string>& path,
                     const std::string& text, bool from_query) {
  const std::string name = absl::StrJoin(path, ".");
  if (!IsValidUtf8(text)) return Bad(name, "the value is not valid UTF-8");
  for (size_t i = 0; i < path.size(); ++i) {
    const FieldDescriptor* field = FindField(message->GetDescriptor(), path[i]);
    if (field == nullptr) {
      return Bad(name,
                 absl::StrCat("no field ", path[i], " in ", message->GetDescriptor()->full_name()));
    }
    if (i + 1 == path.size()) {
      if (field->is_map()) return Bad(name, "map fields cannot be set from the query");
      if (!from_query && field->is_repeated()) {
        return Bad(name, "a repeated field cannot be a path variable");
      }
      if (!from_query && field->cpp_type() == FieldDescriptor::CPPTYPE_STRING &&
          !field->is_repeated()) {
        // body "*" with the path field also in the body: both must agree.
        const std::string current = message->GetReflection()->GetString(*message, field);
        if (!current.empty() && current != text) {
          return Bad(name, absl::StrCat("the body says \"", current, "\" but the path says \"",
                                        text, "\""));
        }
      }
      return SetLeaf(message, field, text, name);
    }
    if (field->is_repeated() || field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
      return Bad(name, absl::StrCat(path[i], " is not a singular message field"));
    }
    message = message->GetReflection()->MutableMessage(message, field);
  }
  return absl::OkStatus();
}

std::vector<std::string> SplitDots(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t dot = text.find('.', start);
    out.push_back(text.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) return out;
    start = dot + 1;
  }
}

// Proto names of a query path, so that "practiceName" and "practice_name" compare equal.
std::vector<std::string> CanonicalPath(const Descriptor* message,
                                       const std::vector<std::string>& path) {
  std::vector<std::string> out;
  for (const std::string& part : path) {
    const FieldDescriptor* field = message == nullptr ? nullptr : FindField(message, part);
    out.push_back(field == nullptr ? part : field->name());
    message = field != nullptr && field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE
                  ? field->message_type()
                  : nullptr;
  }
  return out;
}

bool IsPrefix(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  if (a.size() > b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

}  // namespace

std::string JsonQuote(std::string_view text) {
  std::string out = "\"";
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
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\u%04x", static_cast<unsigned char>(c));
          out += buffer;
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

absl::StatusOr<std::unique_ptr<Message>> BuildRequest(const RouteMatch& match,
                                                      const QueryParams& query,
                                                      std::string_view body) {
  const Route& route = *match.route;
  const Descriptor* input = route.method->input_type();
  std::unique_ptr<Message> request(
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(input)->New());

  if (!route.body.empty()) {
    if (!IsValidUtf8(body)) return Bad("body", "the body is not valid UTF-8");
    const bool blank = body.find_first_not_of(" \t\r\n") == std::string_view::npos;
    if (!blank) {
      if (route.body == "*") {
        if (absl::Status s = ParseJsonInto(body, request.get(), "body"); !s.ok()) return s;
      } else {
        // The body is one field: parse it as {"<field>": <body>} so every field type works.
        const FieldDescriptor* field = input->FindFieldByName(route.body);
        const std::string wrapped =
            absl::StrCat("{", JsonQuote(field->json_name()), ":", std::string(body), "\n}");
        if (absl::Status s = ParseJsonInto(wrapped, request.get(), route.body); !s.ok()) return s;
      }
    }
  } else if (!body.empty() && body.find_first_not_of(" \t\r\n") != std::string_view::npos) {
    return Bad("body", absl::StrCat(route.http_method, " ", route.path.text(),
                                    " takes no body; send the fields as query parameters"));
  }

  for (const Binding& binding : match.bindings) {
    if (absl::Status s = SetPath(request.get(), binding.field_path, binding.value, false);
        !s.ok()) {
      return s;
    }
  }

  if (!query.empty() && route.body == "*") {
    return Bad(query.front().first,
               "query parameters are not accepted when the body is the whole request");
  }
  for (const auto& [key, value] : query) {
    if (!IsValidUtf8(key)) return Bad("query", "a parameter name is not valid UTF-8");
    const std::vector<std::string> path = CanonicalPath(input, SplitDots(key));
    for (const Binding& binding : match.bindings) {
      if (IsPrefix(binding.field_path, path) || IsPrefix(path, binding.field_path)) {
        return Bad(key, "this field is bound by the path and cannot also be a query parameter");
      }
    }
    if (!route.body.empty() && path.front() == route.body) {
      return Bad(key, "this field is the body and cannot also be a query parameter");
    }
    if (absl::Status s = SetPath(request.get(), path, value, true); !s.ok()) return s;
  }
  return request;
}

absl::StatusOr<std::vector<std::string>> BuildStreamRequests(const RouteMatch& match,
                                                             const QueryParams& query,
                                                             std::string_view body) {
  std::vector<std::string> requests;
  int line_number = 0;
  while (!body.empty()) {
    const size_t newline = body.find('\n');
    const std::string_view line = body.substr(0, newline);
    body = newline == std::string_view::npos ? std::string_view() : body.substr(newline + 1);
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    absl::StatusOr<std::unique_ptr<Message>> request = BuildRequest(match, query, line);
    if (!request.ok()) {
      return runtime::Annotate(request.status(), absl::StrCat("line ", line_number));
    }
    requests.push_back((*request)->SerializeAsString());
  }
  return requests;
}

absl::StatusOr<std::string> MessageToJson(const Message& message) {
  std::string out;
  // The direct printer for what it knows (every answer of the contracts), util for the rest.
  if (PrintCanonicalJson(message, &out)) return out;
  out.clear();
  google::protobuf::util::JsonPrintOptions options;
  const auto status = google::protobuf::util::MessageToJsonString(message, &out, options);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("cannot write ", message.GetDescriptor()->full_name(),
                                            " as JSON: ", std::string(status.message())));
  }
  return out;
}

absl::StatusOr<std::string> ResponseToJson(const Route& route, const Message& response) {
  if (route.response_body.empty()) return MessageToJson(response);
  const FieldDescriptor* field = response.GetDescriptor()->FindFieldByName(route.response_body);
  if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !field->is_repeated()) {
    return MessageToJson(response.GetReflection()->GetMessage(response, field));
  }
  // A scalar or repeated response_body: print the whole message and cut the field's value out
  // would be fragile; print a copy holding only that field instead and unwrap it.
  std::unique_ptr<Message> only(response.New());
  only->CopyFrom(response);
  std::vector<const FieldDescriptor*> all;
  only->GetReflection()->ListFields(*only, &all);
  for (const FieldDescriptor* f : all) {
    if (f != field) only->GetReflection()->ClearField(only.get(), f);
  }
  absl::StatusOr<std::string> json = MessageToJson(*only);
  if (!json.ok()) return json;
  const std::string prefix = absl::StrCat("{", JsonQuote(field->json_name()), ":");
  if (json->rfind(prefix, 0) != 0) return std::string(field->is_repeated() ? "[]" : "null");
  return json->substr(prefix.size(), json->size() - prefix.size() - 1);
}

}  // namespace dorset::gateway
