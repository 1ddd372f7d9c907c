#include "runtime/api/enum_names.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace dorset::runtime {

std::string EnumValuePrefix(const google::protobuf::EnumDescriptor& type) {
  constexpr char kUnspecified[] = "UNSPECIFIED";
  const google::protobuf::EnumValueDescriptor* zero = type.FindValueByNumber(0);
  if (zero == nullptr || !absl::EndsWith(zero->name(), kUnspecified)) return "";
  return zero->name().substr(0, zero->name().size() - (sizeof(kUnspecified) - 1));
}

std::string EnumShortName(const google::protobuf::EnumDescriptor& type, int number) {
  const google::protobuf::EnumValueDescriptor* value = type.FindValueByNumber(number);
  if (value == nullptr) return absl::StrCat(number);
  if (number == 0) return value->name();  // TYPE_UNSPECIFIED: "UNSPECIFIED" alone says too little
  const std::string prefix = EnumValuePrefix(type);
  if (!prefix.empty() && absl::StartsWith(value->name(), prefix) &&
      value->name().size() > prefix.size()) {
    return value->name().substr(prefix.size());
  }
  return value->name();
}

}  // namespace dorset::runtime
