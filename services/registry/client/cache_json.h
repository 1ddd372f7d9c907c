// The JSON of the registry's shared-cache values and change messages (docs/cache-keys.md, key
// schema version 1): the protobuf JSON mapping of the dorset.registry.v1 messages, except that
// enum values keep the spelling v1 was published with. The contracts later gave every enum
// value its type's prefix (Practice.Status ACTIVE became STATUS_ACTIVE, Change.Kind
// PRACTICE_UPDATED became KIND_PRACTICE_UPDATED); readers outside this code base parse "ACTIVE"
// and "PRACTICE_UPDATED", so the v1 values keep them through the fixed tables in cache_json.cc.
// A new spelling needs a new version segment (dorset:v2:...), never a silent change.
#ifndef DORSET_SERVICES_REGISTRY_CLIENT_CACHE_JSON_H_
#define DORSET_SERVICES_REGISTRY_CLIENT_CACHE_JSON_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace dorset::registry::cache_json {

// The v1 JSON of `message` (lowerCamelCase field names, v1 enum spellings, no whitespace).
std::string ToJson(const google::protobuf::Message& message);

// Parses a v1 value into `message`; unknown fields are ignored (newer registries may add some).
// Accepts the current enum names too.
absl::Status FromJson(std::string_view json, google::protobuf::Message& message);

// True when every enum field reachable from `type` has a v1 spelling table: the messages stored
// in the shared cache must all pass (tested), so that adding an enum to one cannot change a v1
// value's spelling unnoticed.
bool CoversEveryEnum(const google::protobuf::Descriptor& type, std::string* missing);

}  // namespace dorset::registry::cache_json

#endif  // DORSET_SERVICES_REGISTRY_CLIENT_CACHE_JSON_H_
