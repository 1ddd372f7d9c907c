// A small ordered JSON value for building FHIR resources: members keep the order they were
// added in (FHIR readers do not care, people reading a resource do: resourceType first), and
// strings are escaped per RFC 8259. Only what the FHIR face writes: objects, arrays, strings,
// integers and booleans.
//
// A value is its JSON text, written as it is built: Set and Add append the member or item to
// the text at once, so a finished resource is one string rather than a tree of nodes (a search
// page of ten Organizations was a tree of some 700 strings and vectors, built, walked and
// freed: most of the gateway's CPU for it). Hence values are only ever added, each key at most
// once per object (checked in debug builds), and a value added to another is final.
#ifndef DORSET_GATEWAY_FHIR_FHIR_JSON_H_
#define DORSET_GATEWAY_FHIR_FHIR_JSON_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace dorset::gateway::fhir {

class Json {
 public:
  Json() : text_("null") {}
  static Json Object() { return Json('{', '}'); }
  static Json Array() { return Json('[', ']'); }
  static Json String(absl::string_view text);
  static Json Int(int64_t value);
  static Json Bool(bool value);

  // Object members (the value must be an object). Returns *this for chaining; on a temporary
  // (`Json::Object().Set(...).Set(...)`) the chain keeps it an rvalue, so the finished value
  // moves on instead of being copied.
  Json& Set(absl::string_view key, const Json& value) &;
  Json& Set(absl::string_view key, absl::string_view text) &;
  Json& Set(absl::string_view key, const char* text) & { return Set(key, absl::string_view(text)); }
  Json&& Set(absl::string_view key, const Json& value) && {
    Set(key, value);
    return std::move(*this);
  }
  Json&& Set(absl::string_view key, absl::string_view text) && {
    Set(key, text);
    return std::move(*this);
  }
  Json&& Set(absl::string_view key, const char* text) && {
    Set(key, absl::string_view(text));
    return std::move(*this);
  }
  // Sets the member only when `text` is not empty (FHIR forbids empty strings).
  Json& SetIfNotEmpty(absl::string_view key, absl::string_view text) &;
  Json&& SetIfNotEmpty(absl::string_view key, absl::string_view text) && {
    SetIfNotEmpty(key, text);
    return std::move(*this);
  }
  // Array items (the value must be an array).
  Json& Add(const Json& value) &;
  Json&& Add(const Json& value) && {
    Add(value);
    return std::move(*this);
  }

  // No member or item yet (an object or array).
  bool empty() const { return count_ == 0; }

  std::string Serialize() const&;
  std::string Serialize() &&;

 private:
  Json(char open, char close) : close_(close) { text_.push_back(open); }
  void Separator() {
    if (count_++ > 0) text_.push_back(',');
  }
  void Key(absl::string_view key);
  void Append(const Json& value);

  std::string text_;  // the JSON so far (an open object or array lacks its closing bracket)
  char close_ = 0;    // '}' or ']' for an object or array, else 0
  int count_ = 0;     // members or items so far
#ifndef NDEBUG
  std::vector<std::string> keys_;  // to refuse a key set twice
#endif
};

}  // namespace dorset::gateway::fhir

#endif  // DORSET_GATEWAY_FHIR_FHIR_JSON_H_
