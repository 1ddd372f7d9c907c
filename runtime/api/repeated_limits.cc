#include "runtime/api/repeated_limits.h"

#include <algorithm>
#include <string>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"

namespace dorset::runtime {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

// Whether `prefix` + "." + `name` (or `name` alone at the top) is `path`, without building it.
bool PathIs(std::string_view prefix, std::string_view name, std::string_view path) {
  if (prefix.empty()) return path == name;
  return path.size() == prefix.size() + 1 + name.size() && path.starts_with(prefix) &&
         path[prefix.size()] == '.' && path.ends_with(name);
}

int LimitFor(std::string_view prefix, std::string_view name,
             std::span<const RepeatedLimit> limits) {
  for (const RepeatedLimit& limit : limits) {
    if (PathIs(prefix, name, limit.path)) return limit.max_items;
  }
  if (PathIs(prefix, name, "update_mask.paths")) return kMaxMaskPaths;
  return kDefaultMaxRepeated;
}

std::string PathOf(std::string_view prefix, std::string_view name) {
  std::string path(prefix);
  if (!path.empty()) path += '.';
  path += name;
  return path;
}

// Only the repeated and message fields matter, and a field's path is built only for a refusal or
// a message to descend into. Reflection::ListFields (every set field, sorted) and a path per set
// field cost ~7.8k instructions a CreateResponse (bench/README.md session 21).
absl::Status Check(const Message& message, std::string_view prefix,
                   std::span<const RepeatedLimit> limits) {
  const google::protobuf::Descriptor* descriptor = message.GetDescriptor();
  const google::protobuf::Reflection* reflection = message.GetReflection();
  // The set ones, in field-number order as ListFields gave them (the first refusal is the same).
  absl::InlinedVector<const FieldDescriptor*, 8> fields;
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    if (field->is_repeated()) {
      if (reflection->FieldSize(message, field) > 0) fields.push_back(field);
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
               reflection->HasField(message, field)) {
      fields.push_back(field);
    }
  }
  std::sort(fields.begin(), fields.end(), [](const FieldDescriptor* a, const FieldDescriptor* b) {
    return a->number() < b->number();
  });
  for (const FieldDescriptor* field : fields) {
    const bool nested = field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
    if (field->is_repeated()) {
      const int size = reflection->FieldSize(message, field);
      const int max = LimitFor(prefix, field->name(), limits);
      if (size > max) {
        return InvalidArgument(PathOf(prefix, field->name()),
                               absl::StrCat("at most ", max, " items (", size, " given)"));
      }
      if (nested) {
        const std::string path = PathOf(prefix, field->name());
        for (int i = 0; i < size; ++i) {
          RETURN_IF_ERROR(Check(reflection->GetRepeatedMessage(message, field, i), path, limits));
        }
      }
    } else {
      RETURN_IF_ERROR(
          Check(reflection->GetMessage(message, field), PathOf(prefix, field->name()), limits));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckRepeatedLimits(const Message& request, std::span<const RepeatedLimit> limits) {
  return Check(request, "", limits);
}

}  // namespace dorset::runtime
