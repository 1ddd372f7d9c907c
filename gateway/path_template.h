// google.api.http path templates (google/api/http.proto, "Path template syntax"): parsing
// "/v1/{name=practices/*}:close" once at start and matching request paths against it.
//
//   Template = "/" Segments [ Verb ] ;   Segments = Segment { "/" Segment } ;
//   Segment  = "*" | "**" | LITERAL | Variable ;
//   Variable = "{" FieldPath [ "=" Segments ] "}" ;   FieldPath = IDENT { "." IDENT } ;
//   Verb     = ":" LITERAL ;
//
// A variable without "=" is "{field=*}". "**" matches zero or more segments and may only be the
// last segment. A value bound to a single-segment variable is fully percent-decoded; a value bound
// to a multi-segment variable keeps "%2F" as it is (the spec's reverse mapping).
#ifndef DORSET_GATEWAY_PATH_TEMPLATE_H_
#define DORSET_GATEWAY_PATH_TEMPLATE_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace dorset::gateway {

// One variable bound by a match: the request field path ("parent", "practice.name") and value.
struct Binding {
  std::vector<std::string> field_path;
  std::string value;
};

class PathTemplate {
 public:
  enum class Kind { kLiteral, kStar, kDoubleStar };
  struct Segment {
    Kind kind = Kind::kLiteral;
    std::string literal;  // kLiteral only
  };
  struct Variable {
    std::vector<std::string> field_path;
    size_t begin = 0;  // segments [begin, end) belong to the variable
    size_t end = 0;
  };

  // INVALID_ARGUMENT naming the position when `text` is not a template.
  static absl::StatusOr<PathTemplate> Parse(std::string_view text);

  // The bindings when `path` (no query string) matches; nullopt otherwise, including paths
  // with malformed percent-encoding.
  std::optional<std::vector<Binding>> Match(std::string_view path) const;

  const std::vector<Segment>& segments() const { return segments_; }
  const std::vector<Variable>& variables() const { return variables_; }
  const std::string& verb() const { return verb_; }
  // The template as written, e.g. for OpenAPI paths.
  const std::string& text() const { return text_; }
  // One parameter of the OpenAPI path: a "*" or "**" of the template, named after the collection
  // before it ("practices/*" -> "practice"); a variable that is a bare "*" or "**" keeps its
  // field path as the name ("{text}", "{path=**}").
  struct OpenApiParameter {
    std::string name;
    size_t variable = 0;  // index into variables()
    size_t segment = 0;   // index into segments()
    bool multi = false;   // "**": any number of segments, slashes and all
  };
  // The template in OpenAPI's form: literal segments as they are, each "*"/"**" as a named
  // "{parameter}", so that "/v1/{name=practices/*}:close" is "/v1/practices/{practice}:close"
  // and different collections never share a path. The parameters in path order go to
  // `parameters` when given; names are unique within the path.
  std::string OpenApiPath(std::vector<OpenApiParameter>* parameters = nullptr) const;
  // Literal segments count, used to prefer the most specific route.
  int LiteralCount() const;

 private:
  std::string text_;
  std::vector<Segment> segments_;
  std::vector<Variable> variables_;
  std::string verb_;
};

// Percent-decodes `text`; nullopt on a malformed escape. With keep_slash, "%2F"/"%2f" stays.
std::optional<std::string> PercentDecode(std::string_view text, bool keep_slash);

// True when `text` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool IsValidUtf8(std::string_view text);

}  // namespace dorset::gateway

#endif  // DORSET_GATEWAY_PATH_TEMPLATE_H_
