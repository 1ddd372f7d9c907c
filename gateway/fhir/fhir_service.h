// The FHIR R4 face of the registry, read-only (docs/fhir.md): under /fhir/R4,
//   GET metadata                       the CapabilityStatement (capability.h)
//   GET Organization/{id}              a practice, locality, cluster, sub-ICB location or ICB
//   GET Organization?...               search over the practices (search_query.h): a searchset
//                                      Bundle with total and next links, or _summary=count
//   GET Organization/{id}/_history     a practice's revisions, newest first (history Bundle)
// as application/fhir+json. Every read is a call on the registry's gRPC API (the generated
// RegistryService stub) with the caller's authorization, x-request-id and deadline, so the
// registry's CallGate checks the same tokens and permissions as for any other caller; the
// gateway holds nothing. Errors are OperationOutcomes with the HTTP status of the gRPC code.
//
// Independent of the HTTP library: gateway_server.cc hands requests in and writes responses.
#ifndef DORSET_GATEWAY_FHIR_FHIR_SERVICE_H_
#define DORSET_GATEWAY_FHIR_FHIR_SERVICE_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "dorset/registry/v1/registry.grpc.pb.h"
#include "gateway/fhir/search_query.h"
#include "grpcpp/channel.h"

namespace dorset::gateway::fhir {

inline constexpr char kFhirPathPrefix[] = "/fhir/R4";
inline constexpr char kFhirJson[] = "application/fhir+json";

struct FhirRequest {
  std::string method;  // "GET", ...
  std::string path;    // as sent, without the query
  QueryList query;     // decoded name/value pairs
  std::string authorization;
  std::string request_id;
  std::string prefer;  // the Prefer header ("handling=lenient" is honoured)
  // "https://host:port": links and fullUrls are absolute under <base_url>/fhir/R4.
  std::string base_url;
  std::optional<absl::Duration> timeout;
};

struct FhirResponse {
  int status = 200;
  std::string body;  // application/fhir+json
  std::vector<std::pair<std::string, std::string>> headers;
};

class FhirService {
 public:
  explicit FhirService(std::shared_ptr<grpc::Channel> registry);

  FhirResponse Handle(const FhirRequest& request);

 private:
  FhirResponse Read(const FhirRequest& request, const std::string& id);
  FhirResponse Search(const FhirRequest& request);
  FhirResponse History(const FhirRequest& request, const std::string& id);

  std::unique_ptr<registry::v1::RegistryService::Stub> stub_;
};

// "https" or "http" and the Host header (when it is a plausible host[:port]; else
// "localhost"), for FhirRequest::base_url.
std::string BaseUrl(bool tls, const std::string& host_header);

}  // namespace dorset::gateway::fhir

#endif  // DORSET_GATEWAY_FHIR_FHIR_SERVICE_H_
