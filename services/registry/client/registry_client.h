// The registry client for other services (finance, engagement): reads practices, localities,
// clusters and the area summary through the shared cache (docs/cache-keys.md) and falls back
// to the registry over gRPC with per-attempt deadlines and retries (UNAVAILABLE and
// DEADLINE_EXCEEDED, exponential backoff with jitter). Redis being down only costs speed:
// every read still answers from the registry.
//
// The client never writes the cache: the registry server is the one writer of its keys (it
// fills them on reads and invalidates them on every change), so a client cannot put back a
// value that a change has just invalidated.
//
//   ASSIGN_OR_RETURN(auto registry, registry::RegistryClient::Create(env.config, env.cache));
//   ASSIGN_OR_RETURN(registry::v1::Practice practice, registry->GetPractice("J81016"));
//
// Thread-safe: one client per process is enough (gRPC channels multiplex).
#ifndef DORSET_SERVICES_REGISTRY_CLIENT_REGISTRY_CLIENT_H_
#define DORSET_SERVICES_REGISTRY_CLIENT_REGISTRY_CLIENT_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "dorset/registry/v1/registry.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "runtime/cache/cache.h"
#include "runtime/config/config.h"

namespace dorset::registry {

struct RegistryClientOptions {
  // host:port of the registry.
  std::string target;
  // TLS or insecure credentials for the channel.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  // Sent as "authorization: Bearer <token>" when not empty.
  std::string bearer_token;
  // The shared cache to read first; null = always ask the registry.
  runtime::Cache* cache = nullptr;
  // Deadline of each attempt.
  absl::Duration attempt_deadline = absl::Seconds(2);
  // Attempts in all (first try + retries) for UNAVAILABLE / DEADLINE_EXCEEDED.
  int max_attempts = 4;
  absl::Duration initial_backoff = absl::Milliseconds(50);
  absl::Duration max_backoff = absl::Seconds(1);
};

// Counters for tests and metrics: where answers came from.
struct RegistryClientStats {
  int64_t cache_hits = 0;
  int64_t cache_misses = 0;
  int64_t rpcs = 0;     // attempts sent to the registry
  int64_t retries = 0;  // attempts after the first
};

class RegistryClient {
 public:
  // From a service's configuration: registry_target (required), registry_tls_ca (TLS when
  // set, else plaintext), service_token_file (bearer token, optional).
  static absl::StatusOr<std::unique_ptr<RegistryClient>> Create(const runtime::ServerConfig& config,
                                                                runtime::Cache& cache);
  static absl::StatusOr<std::unique_ptr<RegistryClient>> Create(RegistryClientOptions options);
  // Over an existing channel (tests, in-process use).
  static std::unique_ptr<RegistryClient> ForChannel(std::shared_ptr<grpc::Channel> channel,
                                                    RegistryClientOptions options);

  // `ods_code` ("J81016") or the resource name ("practices/J81016").
  absl::StatusOr<v1::Practice> GetPractice(std::string_view ods_code);
  // `locality_id` ("poole-bay") or "localities/poole-bay".
  absl::StatusOr<v1::Locality> GetLocality(std::string_view locality_id);
  absl::StatusOr<std::vector<v1::Locality>> ListLocalities();
  // `cluster_id` or "clusters/{id}".
  absl::StatusOr<v1::Cluster> GetCluster(std::string_view cluster_id);
  absl::StatusOr<std::vector<v1::Cluster>> ListClusters();
  // Governing body code, "11J" by default.
  absl::StatusOr<v1::AreaSummary> GetAreaSummary(std::string_view governing_body = "11J");
  // Every practice matching `request`'s filters (all pages; page_token is ignored).
  // Not cached: asks the registry.
  absl::StatusOr<std::vector<v1::Practice>> ListAllPractices(v1::ListPracticesRequest request);

  // The stub with this client's channel, for calls the helpers above do not cover. Callers
  // must add the bearer token themselves (see NewContext()).
  v1::RegistryService::Stub& stub() { return *stub_; }
  // A context with the bearer token and a deadline of one attempt.
  std::unique_ptr<grpc::ClientContext> NewContext() const;

  RegistryClientStats stats() const;

 private:
  RegistryClient(std::shared_ptr<grpc::Channel> channel, RegistryClientOptions options);

  // Runs `call` with retries on UNAVAILABLE / DEADLINE_EXCEEDED.
  absl::Status CallWithRetry(const std::function<grpc::Status(grpc::ClientContext&)>& call);
  // Looks `key` up in the cache and parses it into `message`; false on a miss or bad value.
  bool ReadCache(const std::string& key, google::protobuf::Message& message);

  RegistryClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::RegistryService::Stub> stub_;
  std::atomic<int64_t> cache_hits_{0};
  std::atomic<int64_t> cache_misses_{0};
  std::atomic<int64_t> rpcs_{0};
  std::atomic<int64_t> retries_{0};
};

}  // namespace dorset::registry

#endif  // DORSET_SERVICES_REGISTRY_CLIENT_REGISTRY_CLIENT_H_
