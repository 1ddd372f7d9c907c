// The gateway's request handler in cpp-httplib's shape, for what the event-driven front does not
// answer on its loop (gateway_server.h): /livez and /readyz, /openapi.json and /docs, the FHIR
// face, and REST calls transcoded to gRPC — unary, client streams, and server streams as NDJSON.
// The plaintext front's worker pool and the HTTPS server run the same handler.
//   HttplibHandler handle = MakeHttplibHandler(options, routes, json_memo, /*tls=*/false);
//   handle(req, res);
#ifndef DORSET_GATEWAY_HTTPLIB_HANDLER_H_
#define DORSET_GATEWAY_HTTPLIB_HANDLER_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "gateway/response_json.h"
#include "gateway/routes.h"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace dorset::gateway {

struct GatewayOptions;

using HttplibHandler = std::function<void(const httplib::Request&, httplib::Response&)>;

// The handler refers to `options`, `routes` and `json_memo`: they must outlive it.
HttplibHandler MakeHttplibHandler(const GatewayOptions& options, const RouteTable& routes,
                                  ResponseJsonMemo& json_memo, bool tls);

// `status` as the gateway's error: a google.rpc.Status body (JSON) with the mapped HTTP status
// and Retry-After when the status carries one (http_status.h).
void WriteError(httplib::Response& res, const absl::Status& status);
// A caller's X-Request-Id is kept when it is 1-128 printable ASCII characters without spaces.
bool IsPrintableId(const std::string& id);
// A fresh request id ("gw-" and 32 hex digits) for a call that brought none (or an unusable one).
std::string NewRequestId();

}  // namespace dorset::gateway

#endif  // DORSET_GATEWAY_HTTPLIB_HANDLER_H_
