// Short spellings of proto enum values for people: the value's name without its type's prefix.
// The contracts name every enum value TYPE_VALUE (AIP-126, buf's ENUM_VALUE_PREFIX), so
// ActivityState OPEN is ACTIVITY_STATE_OPEN on the wire; messages, log fields and CLI output
// keep saying "OPEN". Not for stored values: a stored spelling is kept by an explicit table next
// to the store (engagement counters, the registry's Redis values), so a later rename of an enum
// value can never change what is on disk.
#ifndef DORSET_RUNTIME_API_ENUM_NAMES_H_
#define DORSET_RUNTIME_API_ENUM_NAMES_H_

#include <string>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/generated_enum_reflection.h"

namespace dorset::runtime {

// The prefix every value of `type` carries: the zero value's name up to "UNSPECIFIED"
// ("ACTIVITY_STATE_" for ACTIVITY_STATE_UNSPECIFIED); empty when the type has no such value.
std::string EnumValuePrefix(const google::protobuf::EnumDescriptor& type);

// "OPEN" for ACTIVITY_STATE_OPEN; the zero value's full name (ACTIVITY_STATE_UNSPECIFIED); the
// number in decimal for a value the type does not define.
std::string EnumShortName(const google::protobuf::EnumDescriptor& type, int number);

template <typename Enum>
std::string EnumShortName(Enum value) {
  return EnumShortName(*google::protobuf::GetEnumDescriptor<Enum>(), static_cast<int>(value));
}

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_API_ENUM_NAMES_H_
