// Text inside protobuf messages: checking requests (every string field valid UTF-8, named
// when not) and repairing stored messages whose strings are not UTF-8 (written before the
// registry checked text). A proto3 message with a non-UTF-8 string cannot be parsed at all,
// so the repair works on the wire format: it walks the bytes with the message's descriptor
// and decodes each bad string as Windows-1252 (docs/registry.md, "Text and encodings").
#ifndef DORSET_SERVICES_REGISTRY_STORED_TEXT_H_
#define DORSET_SERVICES_REGISTRY_STORED_TEXT_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace dorset::registry {

// INVALID_ARGUMENT naming the first string field (e.g. "practice.address_lines[1]") that is
// not valid UTF-8. gRPC's parser refuses such requests before a handler runs; this check
// holds the handlers to the same rule on every other path (in-process calls, transcoding).
absl::Status CheckRequestText(const google::protobuf::Message& request);

// Rewrites serialized `bytes` of message type `type` so that every string field (nested and
// repeated ones too) is valid UTF-8 without control characters: non-UTF-8 strings are decoded
// as Windows-1252 and control characters become spaces. nullopt when nothing needed changing
// or when the bytes are not a readable message of that type.
std::optional<std::string> RepairedMessageBytes(const google::protobuf::Descriptor* type,
                                                std::string_view bytes);

// Parses a stored message, repairing non-UTF-8 strings when the plain parse fails. False only
// when the bytes are not a message of that type even after repair.
bool ParseStored(std::string_view bytes, google::protobuf::Message& message);

}  // namespace dorset::registry

#endif  // DORSET_SERVICES_REGISTRY_STORED_TEXT_H_
