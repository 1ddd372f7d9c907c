// Parsing and matching of google.api.http path templates (see path_template.h for the grammar).
#include "gateway/path_template.h"

#include <algorithm>
#include <cctype>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace dorset::gateway {
namespace {

bool IsIdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsIdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Characters a LITERAL may hold: anything but the template's own punctuation.
bool IsLiteralChar(char c) {
  return c != '/' && c != '{' && c != '}' && c != '=' && c != ':' && c != '*' &&
         static_cast<unsigned char>(c) > ' ' && c != 0x7f;
}

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  absl::Status Error(std::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat("path template \"", std::string(text_),
                                                   "\" at offset ", pos_, ": ", std::string(what)));
  }
  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return AtEnd() ? '\0' : text_[pos_]; }
  bool Consume(char c) {
    if (Peek() != c) return false;
    ++pos_;
    return true;
  }

  // Segments = Segment { "/" Segment }, stopping before ":" (verb), "}" or the end.
  absl::Status Segments(std::vector<PathTemplate::Segment>& out, bool in_variable,
                        std::vector<PathTemplate::Variable>* variables) {
    while (true) {
      if (Peek() == '{') {
        if (in_variable) return Error("variables cannot nest");
        if (absl::Status s = Variable(out, *variables); !s.ok()) return s;
      } else if (Peek() == '*') {
        ++pos_;
        if (Consume('*')) {
          out.push_back({PathTemplate::Kind::kDoubleStar, ""});
        } else {
          out.push_back({PathTemplate::Kind::kStar, ""});
        }
      } else {
        const size_t start = pos_;
        while (!AtEnd() && IsLiteralChar(Peek())) ++pos_;
        if (pos_ == start) return Error("expected a segment");
        out.push_back(
            {PathTemplate::Kind::kLiteral, std::string(text_.substr(start, pos_ - start))});
      }
      if (!Consume('/')) return absl::OkStatus();
    }
  }

  absl::Status Variable(std::vector<PathTemplate::Segment>& out,
                        std::vector<PathTemplate::Variable>& variables) {
    ++pos_;  // '{'
    PathTemplate::Variable variable;
    while (true) {
      const size_t start = pos_;
      if (!IsIdentStart(Peek())) return Error("expected a field name");
      while (IsIdentChar(Peek())) ++pos_;
      variable.field_path.emplace_back(text_.substr(start, pos_ - start));
      if (!Consume('.')) break;
    }
    variable.begin = out.size();
    if (Consume('=')) {
      if (absl::Status s = Segments(out, /*in_variable=*/true, nullptr); !s.ok()) return s;
    } else {
      out.push_back({PathTemplate::Kind::kStar, ""});
    }
    variable.end = out.size();
    if (!Consume('}')) return Error("expected '}'");
    variables.push_back(std::move(variable));
    return absl::OkStatus();
  }

  size_t pos() const { return pos_; }
  std::string_view rest() const { return text_.substr(pos_); }
  void Skip(size_t n) { pos_ += n; }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

absl::StatusOr<PathTemplate> PathTemplate::Parse(std::string_view text) {
  PathTemplate result;
  result.text_ = std::string(text);
  Parser parser(text);
  if (!parser.Consume('/')) return parser.Error("must start with '/'");
  if (absl::Status s = parser.Segments(result.segments_, false, &result.variables_); !s.ok()) {
    return s;
  }
  if (parser.Consume(':')) {
    const std::string_view verb = parser.rest();
    if (verb.empty()) return parser.Error("empty verb");
    for (char c : verb) {
      if (!IsLiteralChar(c)) return parser.Error("bad character in verb");
    }
    result.verb_ = std::string(verb);
    parser.Skip(verb.size());
  }
  if (!parser.AtEnd()) return parser.Error("unexpected character");
  for (size_t i = 0; i < result.segments_.size(); ++i) {
    if (result.segments_[i].kind == Kind::kDoubleStar && i + 1 != result.segments_.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("path template \"", result.text_, "\": '**' must be the last segment"));
    }
  }
  for (size_t i = 0; i < result.variables_.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (result.variables_[i].field_path == result.variables_[j].field_path) {
        return absl::InvalidArgumentError(
            absl::StrCat("path template \"", result.text_, "\": variable ",
                         absl::StrJoin(result.variables_[i].field_path, "."), " bound twice"));
      }
    }
  }
  return result;
}

std::optional<std::vector<Binding>> PathTemplate::Match(std::string_view path) const {
  if (path.empty() || path[0] != '/') return std::nullopt;
  path.remove_prefix(1);
  if (!verb_.empty()) {
    const std::string suffix = ":" + verb_;
    if (path.size() < suffix.size() || path.substr(path.size() - suffix.size()) != suffix) {
      return std::nullopt;
    }
    path.remove_suffix(suffix.size());
  }
  // Raw (still encoded) segments; decoding happens per variable so "%2F" can be kept.
  std::vector<std::string_view> raw;
  size_t start = 0;
  while (true) {
    const size_t slash = path.find('/', start);
    raw.push_back(path.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  const bool tail = !segments_.empty() && segments_.back().kind == Kind::kDoubleStar;
  const size_t fixed = tail ? segments_.size() - 1 : segments_.size();
  if (tail ? raw.size() < fixed : raw.size() != fixed) return std::nullopt;
  // "/v1/things/**" with zero trailing segments: "/v1/things" is `fixed` segments exactly.
  for (size_t i = 0; i < fixed; ++i) {
    const Segment& segment = segments_[i];
    if (raw[i].empty()) return std::nullopt;
    if (segment.kind == Kind::kLiteral) {
      std::optional<std::string> decoded = PercentDecode(raw[i], false);
      if (!decoded || *decoded != segment.literal) return std::nullopt;
    }
  }
  for (size_t i = fixed; i < raw.size(); ++i) {
    if (raw[i].empty()) return std::nullopt;
  }
  std::vector<Binding> bindings;
  for (const Variable& variable : variables_) {
    const size_t last = variable.end == segments_.size() && tail ? raw.size() : variable.end;
    const bool single =
        last - variable.begin == 1 && segments_[variable.begin].kind != Kind::kDoubleStar;
    std::string value;
    for (size_t i = variable.begin; i < last; ++i) {
      std::optional<std::string> decoded = PercentDecode(raw[i], /*keep_slash=*/!single);
      if (!decoded) return std::nullopt;
      if (i != variable.begin) value += '/';
      value += *decoded;
    }
    bindings.push_back({variable.field_path, std::move(value)});
  }
  return bindings;
}

namespace {

// "practices" -> "practice", "localities" -> "locality", "governingBodies" -> "governingBody",
// "shelves" -> "shelf";
// a collection id that is not a plural ends in "Id" so that it still names one of them.
std::string Singular(const std::string& collection) {
  if (absl::EndsWith(collection, "ies") && collection.size() > 3) {
    return absl::StrCat(collection.substr(0, collection.size() - 3), "y");
  }
  if (absl::EndsWith(collection, "lves")) {  // "shelves"
    return absl::StrCat(collection.substr(0, collection.size() - 3), "f");
  }
  if (absl::EndsWith(collection, "sses"))
    return std::string(collection.substr(0, collection.size() - 2));
  if (absl::EndsWith(collection, "s") && collection.size() > 1) {
    return std::string(collection.substr(0, collection.size() - 1));
  }
  return absl::StrCat(collection, "Id");
}

}  // namespace

std::string PathTemplate::OpenApiPath(std::vector<OpenApiParameter>* parameters) const {
  std::vector<OpenApiParameter> found;
  std::string out;
  size_t variable = 0;
  for (size_t i = 0; i < segments_.size(); ++i) {
    while (variable < variables_.size() && variables_[variable].end <= i) ++variable;
    const bool inside = variable < variables_.size() && variables_[variable].begin <= i;
    const Segment& segment = segments_[i];
    out += '/';
    if (segment.kind == Kind::kLiteral) {
      out += segment.literal;
      continue;
    }
    OpenApiParameter parameter;
    parameter.segment = i;
    parameter.multi = segment.kind == Kind::kDoubleStar;
    if (!inside) {
      // A "*" outside any variable binds nothing: it is still one segment the caller fills in.
      parameter.variable = variables_.size();
      parameter.name = absl::StrCat("segment", i);
    } else {
      parameter.variable = variable;
      const Variable& v = variables_[variable];
      if (i > v.begin && segments_[i - 1].kind == Kind::kLiteral) {
        parameter.name = Singular(segments_[i - 1].literal);
      } else {
        parameter.name = absl::StrJoin(v.field_path, ".");
        if (v.end - v.begin > 1) absl::StrAppend(&parameter.name, i - v.begin + 1);
      }
    }
    // Unique within the path: "a/*/a/*" gives "a" and "a2".
    const std::string base = parameter.name;
    for (int n = 2;
         std::any_of(found.begin(), found.end(),
                     [&](const OpenApiParameter& p) { return p.name == parameter.name; });
         ++n) {
      parameter.name = absl::StrCat(base, n);
    }
    // StrAppend, not "{" + ... + "}": GCC 12 at -O3 (scripts/run's Release build) reports a false
    // -Wrestrict inside char_traits for the temporary's concatenation (GCC bug 105329).
    absl::StrAppend(&out, "{", parameter.name, "}");
    found.push_back(std::move(parameter));
  }
  if (!verb_.empty()) absl::StrAppend(&out, ":", verb_);
  if (parameters != nullptr) *parameters = std::move(found);
  return out;
}

int PathTemplate::LiteralCount() const {
  int count = 0;
  for (const Segment& segment : segments_) count += segment.kind == Kind::kLiteral;
  return count;
}

std::optional<std::string> PercentDecode(std::string_view text, bool keep_slash) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int high = hex(text[i + 1]);
    const int low = hex(text[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    const char c = static_cast<char>(high * 16 + low);
    if (keep_slash && c == '/') {
      out.append(text.substr(i, 3));
    } else {
      out += c;
    }
    i += 2;
  }
  return out;
}

bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int length;
    unsigned int code;
    if ((c & 0xE0) == 0xC0) {
      length = 2;
      code = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      length = 3;
      code = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      length = 4;
      code = c & 0x07;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (int k = 1; k < length; ++k) {
      const unsigned char next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    static constexpr unsigned int kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < kMin[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
      return false;
    }
    i += length;
  }
  return true;
}

}  // namespace dorset::gateway
