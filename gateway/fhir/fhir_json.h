// A small ordered JSON value for building FHIR resources: members keep the order they were
// added in (FHIR readers do not care, people reading a resource do: resourceType first), and
// Serialize() escapes strings per RFC 8259. Only what the FHIR face writes: objects, arrays,
// strings, integers and booleans.
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
  enum class Kind { kNull, kObject, kArray, kString, kInt, kBool };

  Json() = default;
  static Json Object() { return Json(Kind::kObject); }
  static Json Array() { return Json(Kind::kArray); }
  static Json String(absl::string_view text);
  static Json Int(int64_t value);
  static Json Bool(bool value);

  // Object members (the object must be an object). Returns *this for chaining; on a temporary
  // (`Json::Object().Set(...).Set(...)`) the chain keeps it an rvalue, so the finished value
  // moves into its parent or return value instead of being copied, tree and all (the copies
  // were a third of a FHIR search's CPU in the gateway).
  Json& Set(absl::string_view key, Json value) &;
  Json& Set(absl::string_view key, absl::string_view text) & { return Set(key, String(text)); }
  Json& Set(absl::string_view key, const char* text) & { return Set(key, String(text)); }
  Json&& Set(absl::string_view key, Json value) && {
    Set(key, std::move(value));
    return std::move(*this);
  }
  Json&& Set(absl::string_view key, absl::string_view text) && {
    Set(key, String(text));
    return std::move(*this);
  }
  Json&& Set(absl::string_view key, const char* text) && {
    Set(key, String(text));
    return std::move(*this);
  }
  // Sets the member only when `text` is not empty (FHIR forbids empty strings).
  Json& SetIfNotEmpty(absl::string_view key, absl::string_view text) &;
  Json&& SetIfNotEmpty(absl::string_view key, absl::string_view text) && {
    SetIfNotEmpty(key, text);
    return std::move(*this);
  }
  // Array items (the value must be an array).
  Json& Add(Json value) &;
  Json&& Add(Json value) && {
    Add(std::move(value));
    return std::move(*this);
  }

  Kind kind() const { return kind_; }
  bool empty() const { return members_.empty() && items_.empty(); }
  // The member named `key`, or nullptr.
  const Json* Find(absl::string_view key) const;
  const std::vector<Json>& items() const { return items_; }
  const std::string& text() const { return text_; }

  std::string Serialize() const;

 private:
  explicit Json(Kind kind) : kind_(kind) {}
  void AppendTo(std::string& out) const;

  Kind kind_ = Kind::kNull;
  std::string text_;
  int64_t number_ = 0;
  bool flag_ = false;
  std::vector<std::pair<std::string, Json>> members_;
  std::vector<Json> items_;
};

}  // namespace dorset::gateway::fhir

#endif  // DORSET_GATEWAY_FHIR_FHIR_JSON_H_
