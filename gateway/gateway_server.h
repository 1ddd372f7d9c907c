// The gateway's HTTP server: every request is matched against the route table, transcoded to
// a request message, sent to the owning service over gRPC (generic stub, serialized bytes) with
// the caller's authorization, x-request-id and deadline, and answered as JSON — a unary
// response, NDJSON for a server stream (application/x-ndjson, one message per line, a final
// {"error": Status} line when the stream fails after it started), or a google.rpc.Status with
// the mapped HTTP status. Also serves /openapi.json and /docs when given a document.
//
// Plaintext is served by the event-driven front (gateway/http_front.h): a unary REST call is
// transcoded on its loop thread and sent with AsyncUnaryCaller, and answered from the gRPC
// completion; everything else (FHIR, streams, /openapi.json, errors of routing) runs the same
// handler as before on a pool of `threads` workers. HTTPS is served by cpp-httplib (a thread
// per connection) with that same handler.
//
// The gateway authenticates nobody itself: the services' CallGate checks the same tokens and
// permission table for a call through the gateway as for a direct gRPC call.
#ifndef DORSET_GATEWAY_GATEWAY_SERVER_H_
#define DORSET_GATEWAY_GATEWAY_SERVER_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gateway/fhir/fhir_service.h"
#include "gateway/grpc_caller.h"
#include "gateway/http_front.h"
#include "gateway/httplib_handler.h"
#include "gateway/response_json.h"
#include "gateway/routes.h"
#include "grpcpp/channel.h"

namespace httplib {
class Server;
class ThreadPool;
struct Request;
struct Response;
}  // namespace httplib

namespace dorset::gateway {

struct GatewayOptions {
  // Full service name -> channel to the process serving it. Only these services are routed.
  std::map<std::string, std::shared_ptr<grpc::Channel>> backends;
  // Services every backend process serves about itself (RouteTable::Build's per_backend):
  // routed once per backend under its scope, "/v1/registry/auditEvents".
  std::vector<std::string> per_backend;
  std::string listen = "127.0.0.1:0";  // host:port, port 0 = any free
  std::string tls_cert;                // PEM; with tls_key serves HTTPS
  std::string tls_key;
  size_t max_body_bytes = 1 << 20;  // larger bodies: 413 with a google.rpc.Status
  // Deadline of unary calls without a grpc-timeout header, and the cap on any asked for.
  absl::Duration default_timeout = absl::Seconds(30);
  absl::Duration max_timeout = absl::Minutes(10);
  int threads = 16;            // workers for blocking requests (FHIR, streams); HTTPS connections
  int completion_threads = 1;  // threads answering unary calls as they complete (plaintext)
  std::string openapi_json;    // served at /openapi.json when not empty
  // The registry's FHIR R4 face, served under /fhir/R4 when set (docs/fhir.md).
  std::shared_ptr<fhir::FhirService> fhir;
};

class GatewayServer {
 public:
  // Builds the route table from the generated descriptors and binds the port.
  static absl::StatusOr<std::unique_ptr<GatewayServer>> Start(GatewayOptions options);
  ~GatewayServer();

  int port() const { return port_; }
  bool tls() const { return !options_.tls_cert.empty(); }
  const RouteTable& routes() const { return routes_; }
  void Stop();

 private:
  GatewayServer(GatewayOptions options, RouteTable routes);

  // A unary REST call answered from its gRPC completion; false when the request is not one
  // (the pool's handler serves it).
  bool TryUnary(HttpRequest& request, const std::shared_ptr<HttpExchange>& exchange);

  GatewayOptions options_;
  RouteTable routes_;
  // Before the front, the caller and the pool: their callbacks render through it until they stop.
  ResponseJsonMemo json_memo_;
  HttplibHandler handle_;                    // for the front's pool and the HTTPS server
  std::unique_ptr<httplib::Server> server_;  // HTTPS
  std::unique_ptr<HttpFront> front_;         // plaintext
  std::unique_ptr<AsyncUnaryCaller> caller_;
  std::unique_ptr<httplib::ThreadPool> pool_;
  std::thread thread_;
  int port_ = 0;
};

// Parses a gRPC-style timeout ("5S", "250m", "1M", "2H", "100u", "10n"); nullopt when malformed.
std::optional<absl::Duration> ParseGrpcTimeout(const std::string& text);

}  // namespace dorset::gateway

#endif  // DORSET_GATEWAY_GATEWAY_SERVER_H_
