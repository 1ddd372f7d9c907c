#include "runtime/api/repeated_limits.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"

namespace dorset::runtime {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

int LimitFor(std::string_view path, std::span<const RepeatedLimit> limits) {
  for (const RepeatedLimit& limit : limits) {
    if (limit.path == path) return limit.max_items;
  }
  if (path == "update_mask.paths") return kMaxMaskPaths;
  return kDefaultMaxRepeated;
}

absl::Status Check(const Message& message, const std::string& prefix,
                   std::span<const RepeatedLimit> limits) {
  const google::protobuf::Reflection* reflection = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);  // set fields only: cheap for small requests
  for (const FieldDescriptor* field : fields) {
    const std::string path =
        prefix.empty() ? field->name() : absl::StrCat(prefix, ".", field->name());
    if (field->is_repeated()) {
      const int size = reflection->FieldSize(message, field);
      const int max = LimitFor(path, limits);
      if (size > max) {
        return InvalidArgument(path, absl::StrCat("at most ", max, " items (", size, " given)"));
      }
      if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        for (int i = 0; i < size; ++i) {
          RETURN_IF_ERROR(Check(reflection->GetRepeatedMessage(message, field, i), path, limits));
        }
      }
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      RETURN_IF_ERROR(Check(reflection->GetMessage(message, field), path, limits));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckRepeatedLimits(const Message& request, std::span<const RepeatedLimit> limits) {
  return Check(request, "", limits);
}

}  // namespace dorset::runtime
