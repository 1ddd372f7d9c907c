// The google.api.http request and response rules: a matched route, its path bindings, the query
// parameters and the body become one request message; a response message becomes JSON. Uses
// protobuf's canonical JSON mapping (google::protobuf::util), refusing unknown fields.
//
//   body "*"      the JSON body is the whole request; path variables are set on top (a body
//                 value that disagrees with the path is refused); query parameters are refused.
//   body "field"  the JSON body is that field; every other field may come from the query.
//   no body       every field not bound by the path may come from the query.
// Query parameters name fields by proto or JSON name, dotted for nested messages ("a.b=1");
// a repeated field takes the parameter once per value; enums by name (or number); message
// leaves (Timestamp, FieldMask, Duration, wrappers) by their JSON string form.
#ifndef DORSET_GATEWAY_TRANSCODER_H_
#define DORSET_GATEWAY_TRANSCODER_H_

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "gateway/routes.h"
#include "google/protobuf/message.h"

namespace dorset::gateway {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// Builds the request message of `match.route` (a new message from the generated factory).
// INVALID_ARGUMENT with a BadRequest field violation naming the field for every bad input.
absl::StatusOr<std::unique_ptr<google::protobuf::Message>> BuildRequest(const RouteMatch& match,
                                                                        const QueryParams& query,
                                                                        std::string_view body);

// For a client-streaming method: the body is NDJSON, one request per non-blank line, each
// transcoded like a whole body by BuildRequest (path variables and query parameters applied to
// every one). A refusal names the line ("line 3: ..."). An empty body is a stream of none.
absl::StatusOr<std::vector<std::string>> BuildStreamRequests(const RouteMatch& match,
                                                             const QueryParams& query,
                                                             std::string_view body);

// The response as canonical JSON (response_body applied).
absl::StatusOr<std::string> ResponseToJson(const Route& route,
                                           const google::protobuf::Message& response);

// Any message as canonical JSON on one line (NDJSON lines, error bodies).
absl::StatusOr<std::string> MessageToJson(const google::protobuf::Message& message);

// A JSON string literal for `text` (quotes and escapes added).
std::string JsonQuote(std::string_view text);

}  // namespace dorset::gateway

#endif  // DORSET_GATEWAY_TRANSCODER_H_
