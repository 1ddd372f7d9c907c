// A direct printer of protobuf's canonical proto3 JSON, byte for byte what
// google::protobuf::util::MessageToJsonString writes with its default options, for the message
// shapes the contracts use: scalars, enums, strings, bytes, nested and repeated messages,
// google.protobuf.Timestamp and Duration. It reads the message by reflection and appends to a
// string, where protobuf's util serialises the message, resolves its type into a
// google.protobuf.Type and converts the bytes through an object-writer stream (a quarter of the
// gateway's CPU per cached GetPractice, bench/README.md "Gateway").
//
// Anything it does not print itself (maps, Any, Struct/Value, wrappers, FieldMask, float and
// double, an enum number without a name, a Timestamp or Duration out of JSON's range, text that
// is not valid UTF-8, a well-known type at the top) makes it return false: the caller then
// prints with protobuf's util, which stays the reference (tests/gateway/json_printer_test.cc
// compares the two over every message type of the contracts).
#ifndef DORSET_GATEWAY_JSON_PRINTER_H_
#define DORSET_GATEWAY_JSON_PRINTER_H_

#include <string>

#include "google/protobuf/message.h"

namespace dorset::gateway {

// Appends the JSON of `message` to `out` and returns true, or returns false (with `out` in an
// unspecified state) when the message holds something listed above.
bool PrintCanonicalJson(const google::protobuf::Message& message, std::string* out);

}  // namespace dorset::gateway

#endif  // DORSET_GATEWAY_JSON_PRINTER_H_
