// OpenAPI 3.1 from the route table and descriptors (see openapi.h). JSON is built with
// google.protobuf.Struct so that quoting is protobuf's, not ours.
#include "gateway/openapi.h"

#include <map>
#include <set>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "gateway/transcoder.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace dorset::gateway {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Struct;
using google::protobuf::Value;

Value Str(std::string_view s) {
  Value v;
  v.set_string_value(std::string(s));
  return v;
}
Value Bool(bool b) {
  Value v;
  v.set_bool_value(b);
  return v;
}
Value Obj(Struct s) {
  Value v;
  *v.mutable_struct_value() = std::move(s);
  return v;
}
Struct& Sub(Struct& s, const std::string& key) {
  return *(*s.mutable_fields())[key].mutable_struct_value();
}
void Set(Struct& s, const std::string& key, Value v) { (*s.mutable_fields())[key] = std::move(v); }

// Comments of the documented pool, by full name of a service, method, message, field or enum.
class Comments {
 public:
  explicit Comments(std::string_view descriptor_set) {
    google::protobuf::FileDescriptorSet set;
    if (descriptor_set.empty() ||
        !set.ParseFromArray(descriptor_set.data(), static_cast<int>(descriptor_set.size()))) {
      return;
    }
    for (const auto& file : set.file()) pool_.BuildFile(file);
  }
  template <typename D>
  std::string Of(const D* generated) const {
    const D* documented = Find(generated);
    if (documented == nullptr) return "";
    google::protobuf::SourceLocation location;
    if (!documented->GetSourceLocation(&location)) return "";
    return std::string(absl::StripAsciiWhitespace(location.leading_comments));
  }

 private:
  const google::protobuf::MethodDescriptor* Find(
      const google::protobuf::MethodDescriptor* d) const {
    return pool_.FindMethodByName(d->full_name());
  }
  const google::protobuf::ServiceDescriptor* Find(
      const google::protobuf::ServiceDescriptor* d) const {
    return pool_.FindServiceByName(d->full_name());
  }
  const Descriptor* Find(const Descriptor* d) const {
    return pool_.FindMessageTypeByName(d->full_name());
  }
  const FieldDescriptor* Find(const FieldDescriptor* d) const {
    return pool_.FindFieldByName(d->full_name());
  }
  const google::protobuf::EnumDescriptor* Find(const google::protobuf::EnumDescriptor* d) const {
    return pool_.FindEnumTypeByName(d->full_name());
  }
  google::protobuf::DescriptorPool pool_;
};

class Builder {
 public:
  explicit Builder(const Comments& comments) : comments_(comments) {}

  // The schema of one field's value (no repetition).
  Struct ValueSchema(const FieldDescriptor* field) {
    Struct s;
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING:
        Set(s, "type", Str("string"));
        if (field->type() == FieldDescriptor::TYPE_BYTES) Set(s, "format", Str("byte"));
        break;
      case FieldDescriptor::CPPTYPE_INT32:
        Set(s, "type", Str("integer"));
        Set(s, "format", Str("int32"));
        break;
      case FieldDescriptor::CPPTYPE_UINT32:
        Set(s, "type", Str("integer"));
        Set(s, "format", Str("uint32"));
        break;
      case FieldDescriptor::CPPTYPE_INT64:
      case FieldDescriptor::CPPTYPE_UINT64:
        // Canonical JSON writes 64-bit integers as strings.
        Set(s, "type", Str("string"));
        Set(s, "format",
            Str(field->cpp_type() == FieldDescriptor::CPPTYPE_INT64 ? "int64" : "uint64"));
        break;
      case FieldDescriptor::CPPTYPE_DOUBLE:
      case FieldDescriptor::CPPTYPE_FLOAT:
        Set(s, "type", Str("number"));
        break;
      case FieldDescriptor::CPPTYPE_BOOL:
        Set(s, "type", Str("boolean"));
        break;
      case FieldDescriptor::CPPTYPE_ENUM: {
        Set(s, "type", Str("string"));
        Value values;
        for (int i = 0; i < field->enum_type()->value_count(); ++i) {
          *values.mutable_list_value()->add_values() = Str(field->enum_type()->value(i)->name());
        }
        Set(s, "enum", values);
        break;
      }
      case FieldDescriptor::CPPTYPE_MESSAGE:
        return MessageRef(field->message_type());
    }
    return s;
  }

  Struct FieldSchema(const FieldDescriptor* field) {
    Struct s;
    if (field->is_map()) {
      Set(s, "type", Str("object"));
      Set(s, "additionalProperties", Obj(ValueSchema(field->message_type()->map_value())));
    } else if (field->is_repeated()) {
      Set(s, "type", Str("array"));
      Set(s, "items", Obj(ValueSchema(field)));
    } else {
      s = ValueSchema(field);
    }
    const std::string comment = comments_.Of(field);
    if (!comment.empty()) Set(s, "description", Str(comment));
    return s;
  }

  Struct MessageRef(const Descriptor* message) {
    const std::string& name = message->full_name();
    Struct s;
    if (name == "google.protobuf.Timestamp") {
      Set(s, "type", Str("string"));
      Set(s, "format", Str("date-time"));
      return s;
    }
    if (name == "google.protobuf.Duration" || name == "google.protobuf.FieldMask") {
      Set(s, "type", Str("string"));
      return s;
    }
    if (name == "google.protobuf.Struct" || name == "google.protobuf.Any" ||
        name == "google.protobuf.Empty") {
      Set(s, "type", Str("object"));
      return s;
    }
    if (name == "google.protobuf.Value" || name == "google.protobuf.ListValue") return s;
    if (absl::StartsWith(name, "google.protobuf.") && absl::EndsWith(name, "Value")) {
      return ValueSchema(message->FindFieldByName("value"));
    }
    Define(message);
    Set(s, "$ref", Str(absl::StrCat("#/components/schemas/", name)));
    return s;
  }

  void Define(const Descriptor* message) {
    if (!defined_.insert(message->full_name()).second) return;
    Struct schema;
    Set(schema, "type", Str("object"));
    const std::string comment = comments_.Of(message);
    if (!comment.empty()) Set(schema, "description", Str(comment));
    Struct& properties = Sub(schema, "properties");
    for (int i = 0; i < message->field_count(); ++i) {
      const FieldDescriptor* field = message->field(i);
      Set(properties, field->json_name(), Obj(FieldSchema(field)));
    }
    Set(schema, "additionalProperties", Bool(false));
    Set(Sub(Sub(document_, "components"), "schemas"), message->full_name(), Obj(std::move(schema)));
  }

  // Query parameters for every scalar (or well-known) leaf not bound by path or body.
  void QueryParameters(const Descriptor* message, const std::string& prefix,
                       const std::set<std::string>& bound, int depth, Value& out) {
    if (depth > 3) return;
    for (int i = 0; i < message->field_count(); ++i) {
      const FieldDescriptor* field = message->field(i);
      const std::string name = prefix + field->name();
      if (bound.count(name) || field->is_map()) continue;
      const bool well_known =
          field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
          absl::StartsWith(field->message_type()->full_name(), "google.protobuf.");
      if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !well_known) {
        if (!field->is_repeated())
          QueryParameters(field->message_type(), name + ".", bound, depth + 1, out);
        continue;
      }
      Struct p;
      Set(p, "name", Str(name));
      Set(p, "in", Str("query"));
      Set(p, "schema", Obj(FieldSchema(field)));
      const std::string comment = comments_.Of(field);
      if (!comment.empty()) Set(p, "description", Str(comment));
      *out.mutable_list_value()->add_values() = Obj(std::move(p));
    }
  }

  // One "{parameter}" of an OpenAPI path: which request field it fills and how, with an example
  // a caller can put in its place ("X", or "a/b" for "**").
  Struct PathParameter(const Route& route, const PathTemplate::OpenApiParameter& parameter) {
    Struct p;
    Set(p, "name", Str(parameter.name));
    Set(p, "in", Str("path"));
    Set(p, "required", Bool(true));
    const std::string example = parameter.multi ? "a/b" : "X";
    std::string description;
    if (parameter.variable < route.path.variables().size()) {
      const PathTemplate::Variable& variable = route.path.variables()[parameter.variable];
      // The variable's shape with this parameter named: "practices/{practice}".
      std::string shape;
      for (size_t i = variable.begin; i < variable.end; ++i) {
        const auto& segment = route.path.segments()[i];
        if (i != variable.begin) shape += "/";
        if (i == parameter.segment) {
          absl::StrAppend(&shape, "{", parameter.name, "}");
        } else {
          shape += segment.kind == PathTemplate::Kind::kLiteral ? segment.literal
                   : segment.kind == PathTemplate::Kind::kStar  ? "*"
                                                                : "**";
        }
      }
      const std::string field = absl::StrJoin(variable.field_path, ".");
      description =
          shape == absl::StrCat("{", parameter.name, "}")
              ? absl::StrCat("`", field, "` of the request")
              : absl::StrCat("Part of `", field, "` of the request, which is `", shape, "`");
    } else {
      description = "A path segment the binding matches but does not bind";
    }
    absl::StrAppend(&description,
                    parameter.multi ? "; any number of segments, sent with their slashes unescaped"
                                    : "; one path segment (percent-encode a '/' in it)",
                    " (e.g. `", example, "`)");
    Set(p, "description", Str(description));
    Struct schema;
    Set(schema, "type", Str("string"));
    Set(p, "schema", Obj(schema));
    Set(p, "example", Str(example));
    return p;
  }

  void Operation(const Route& route) {
    std::vector<PathTemplate::OpenApiParameter> path_parameters;
    const std::string path = route.path.OpenApiPath(&path_parameters);
    Struct& item = Sub(Sub(document_, "paths"), path);
    Struct op;
    const auto* method = route.method;
    const int binding = operation_ids_[absl::StrCat(method->full_name(), "/", route.scope)]++;
    Set(op, "operationId",
        Str(absl::StrCat(method->service()->name(), "_", method->name(),
                         route.scope.empty() ? "" : "_" + route.scope,
                         binding == 0 ? "" : absl::StrCat("_", binding + 1))));
    std::string description = comments_.Of(method);
    if (description.empty()) description = method->name();
    if (!route.scope.empty()) {
      absl::StrAppend(&description, "\n\nServed by every process about itself: this is the ",
                      route.scope, " process's.");
    }
    Set(op, "summary", Str(description.substr(0, description.find('\n'))));
    Set(op, "description", Str(absl::StrCat(description, "\n\ngRPC: `", route.GrpcPath(), "`")));
    Value tags;
    *tags.mutable_list_value()->add_values() = Str(method->service()->full_name());
    Set(op, "tags", tags);

    std::set<std::string> bound;
    for (const PathTemplate::Variable& variable : route.path.variables()) {
      bound.insert(absl::StrJoin(variable.field_path, "."));
    }
    Value parameters;
    parameters.mutable_list_value();
    for (const PathTemplate::OpenApiParameter& parameter : path_parameters) {
      *parameters.mutable_list_value()->add_values() = Obj(PathParameter(route, parameter));
    }
    if (route.body != "*") {
      std::set<std::string> not_query = bound;
      if (!route.body.empty()) not_query.insert(route.body);
      QueryParameters(method->input_type(), "", not_query, 0, parameters);
    }
    Set(op, "parameters", parameters);
    if (!route.body.empty()) {
      Struct body;
      Set(body, "required", Bool(route.body != "*"));
      Struct schema = route.body == "*"
                          ? MessageRef(method->input_type())
                          : FieldSchema(method->input_type()->FindFieldByName(route.body));
      if (route.client_streaming()) {
        Set(body, "description",
            Str("A stream of requests: one JSON message per line (NDJSON), each like this schema"));
      }
      Set(Sub(Sub(body, "content"),
              route.client_streaming() ? "application/x-ndjson" : "application/json"),
          "schema", Obj(std::move(schema)));
      Set(op, "requestBody", Obj(std::move(body)));
    }
    Struct ok;
    Struct response_schema =
        route.response_body.empty()
            ? MessageRef(method->output_type())
            : FieldSchema(method->output_type()->FindFieldByName(route.response_body));
    if (route.server_streaming()) {
      Set(ok, "description",
          Str("A stream: one JSON message per line (NDJSON); a final line "
              "{\"error\": Status} when the stream fails after it started"));
      Set(Sub(Sub(ok, "content"), "application/x-ndjson"), "schema",
          Obj(std::move(response_schema)));
    } else {
      Set(ok, "description", Str("OK"));
      Set(Sub(Sub(ok, "content"), "application/json"), "schema", Obj(std::move(response_schema)));
    }
    Struct& responses = Sub(op, "responses");
    Set(responses, "200", Obj(std::move(ok)));
    Struct error;
    Set(error, "description",
        Str("A google.rpc.Status; the HTTP status is the one google/rpc/code.proto gives its "
            "code"));
    Set(Sub(Sub(error, "content"), "application/json"), "schema",
        Obj(MessageRefByName("google.rpc.Status")));
    Set(responses, "default", Obj(std::move(error)));
    std::string http_method = absl::AsciiStrToLower(route.http_method);
    Set(item, http_method, Obj(std::move(op)));
  }

  Struct MessageRefByName(const std::string& name) {
    const Descriptor* d =
        google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(name);
    return d == nullptr ? Struct() : MessageRef(d);
  }

  Struct& document() { return document_; }

 private:
  const Comments& comments_;
  Struct document_;
  std::set<std::string> defined_;
  std::map<std::string, int> operation_ids_;
};

}  // namespace

absl::StatusOr<std::string> BuildOpenApi(const RouteTable& routes, std::string_view descriptor_set,
                                         std::string_view title) {
  Comments comments(descriptor_set);
  Builder builder(comments);
  Struct& doc = builder.document();
  Set(doc, "openapi", Str("3.1.0"));
  Struct& info = Sub(doc, "info");
  Set(info, "title", Str(title));
  Set(info, "version", Str("v1"));
  Set(info, "description",
      Str("Generated at start from the gRPC contracts (protos/) by the gateway; every operation "
          "is transcoded to the gRPC method it names. Authenticate with "
          "`Authorization: Bearer <token>` (the same tokens as gRPC)."));
  Struct& bearer = Sub(Sub(Sub(doc, "components"), "securitySchemes"), "bearer");
  Set(bearer, "type", Str("http"));
  Set(bearer, "scheme", Str("bearer"));
  Value security;
  Struct requirement;
  Value empty;
  empty.mutable_list_value();
  Set(requirement, "bearer", empty);
  *security.mutable_list_value()->add_values() = Obj(requirement);
  Set(doc, "security", security);
  Sub(doc, "paths");
  for (const Route& route : routes.routes()) builder.Operation(route);
  return MessageToJson(doc);
}

}  // namespace dorset::gateway
