// The gateway's route table: one row per google.api.http binding (and additional_bindings) of
// the annotated RPCs in a descriptor pool, and the lookup of an HTTP request's method and path.
#ifndef DORSET_GATEWAY_ROUTES_H_
#define DORSET_GATEWAY_ROUTES_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "gateway/path_template.h"
#include "google/protobuf/descriptor.h"

namespace dorset::gateway {

struct Route {
  std::string http_method;  // "GET", "POST", "PATCH", "PUT", "DELETE" or a custom kind
  PathTemplate path;
  std::string body;           // "", "*" or a top-level request field name
  std::string response_body;  // "" (the whole response) or a top-level response field name
  const google::protobuf::MethodDescriptor* method = nullptr;
  // The backend (GatewayOptions::backends key, a service's full name) the call goes to: the
  // method's own service, or for a service every process serves (AuditService) the process
  // named by `scope`.
  std::string backend;
  // "" or, for a service every process serves, the short name of the process ("registry")
  // inserted after the version segment: "/v1/auditEvents" is "/v1/registry/auditEvents".
  std::string scope;

  // "/package.Service/Method", the gRPC method path.
  std::string GrpcPath() const;
  bool server_streaming() const { return method->server_streaming(); }
  bool client_streaming() const { return method->client_streaming(); }
};

struct RouteMatch {
  const Route* route = nullptr;
  std::vector<Binding> bindings;
};

class RouteTable {
 public:
  // Reads every method of `services` (full names) from `pool`. INVALID_ARGUMENT when a service is
  // missing, a template does not parse, or a body/response_body/path field does not exist;
  // methods without a binding are left out (they stay gRPC-only). A client-streaming method
  // takes its requests as NDJSON lines of the body (transcoder.h).
  //
  // `per_backend` names services that every process serves about itself (the audit trail): for
  // each of `services` their bindings are routed once more, scoped to that process
  // (Route::scope, from the package: "dorset.registry.v1.RegistryService" -> "registry").
  static absl::StatusOr<RouteTable> Build(const google::protobuf::DescriptorPool& pool,
                                          const std::vector<std::string>& services,
                                          const std::vector<std::string>& per_backend = {});

  // The route for an HTTP method and path (no query string). NOT_FOUND when no template
  // matches; when a template matches under another HTTP method only, the error says which
  // methods are allowed (UNIMPLEMENTED, HTTP 501 would mislead: it is a 405 in the caller's
  // terms, reported as INVALID_ARGUMENT naming the allowed methods).
  absl::StatusOr<RouteMatch> Find(std::string_view http_method, std::string_view path) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;  // most specific first: verbs, then more literal segments
};

// The services every process serves about itself and that the gateway routes per process.
const std::vector<std::string>& PerBackendServices();

// The short name of the process serving `service`: "dorset.registry.v1.RegistryService" ->
// "registry" (the package's second part).
std::string BackendScope(const std::string& service);

// Checks that `path` ("a.b.c") names fields of `message`, each but the last a singular message.
absl::Status CheckFieldPath(const google::protobuf::Descriptor* message,
                            const std::vector<std::string>& path);

}  // namespace dorset::gateway

#endif  // DORSET_GATEWAY_ROUTES_H_
