// The registry client for other services (finance, engagement). It follows the system's cache
// policy (docs/cache-keys.md, "Registry data in other services"):
//   1. the registry's keys in the shared cache (Redis) answer first: the registry keeps them
//      current (it deletes them on every change);
//   2. when there is no shared cache or it is failing, a local copy younger than `fresh_for`
//      (30 s) answers;
//   3. otherwise the registry is asked over gRPC (per-attempt deadlines, retries on UNAVAILABLE
//      and DEADLINE_EXCEEDED with backoff and jitter), one call per key at a time: concurrent
//      identical lookups share it (single-flight);
//   4. when the registry cannot answer, a local copy up to `max_stale` (15 min) old answers,
//      marked stale with the time it was obtained (Freshness); older than that: the error.
// Redis being down only costs speed; the registry being down costs freshness, then answers.
//
// The client never writes the shared cache: the registry server is the one writer of its keys
// (it fills them on reads and invalidates them on every change). The local copies are bounded
// (an LRU of `local_entries`) and expire after `max_stale`.
//
// The channel reconnects promptly after the registry restarts (reconnect backoff capped at
// `max_reconnect_backoff`, 1 s), and Health() reports the registry down while it cannot be
// reached, for /readyz.
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
#include "runtime/cache/lru_cache.h"
#include "runtime/config/config.h"
#include "services/registry/client/single_flight.h"

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
  // The cache policy's bounds (docs/cache-keys.md): a local copy answers as current while
  // younger than fresh_for, and as stale (marked) while younger than max_stale when the
  // registry cannot be reached. local_entries bounds the local copies (LRU).
  absl::Duration fresh_for = absl::Seconds(30);
  absl::Duration max_stale = absl::Minutes(15);
  size_t local_entries = 10000;
  // The channel's reconnect backoff (gRPC's defaults grow to 120 s, which kept callers failing
  // for seconds after the registry was back). Only applied by Create(), not ForChannel().
  absl::Duration min_reconnect_backoff = absl::Milliseconds(100);
  absl::Duration max_reconnect_backoff = absl::Seconds(1);
  // The clock (tests age the local copies).
  std::function<absl::Time()> clock = absl::Now;
};

// How current an answer is.
struct Freshness {
  // True when the registry could not be reached and a local copy older than fresh_for
  // answered instead.
  bool stale = false;
  // When the value was obtained from the registry or its shared cache.
  absl::Time as_of = absl::InfinitePast();
};

// Whether the registry can be reached, for /readyz.
struct RegistryHealth {
  bool up = true;
  std::string detail;  // e.g. "TRANSIENT_FAILURE" or the last error
};

// Counters for tests and metrics: where answers came from.
struct RegistryClientStats {
  int64_t cache_hits = 0;
  int64_t cache_misses = 0;
  int64_t rpcs = 0;          // attempts sent to the registry
  int64_t retries = 0;       // attempts after the first
  int64_t local_hits = 0;    // answered from a fresh local copy
  int64_t coalesced = 0;     // lookups that shared another's in-flight call
  int64_t stale_served = 0;  // answered from a stale local copy (registry unreachable)
};

class RegistryClient {
 public:
  // From a service's configuration: registry_target (required), registry_tls_ca (TLS when
  // set, else plaintext), service_token_file (bearer token, optional).
  static absl::StatusOr<std::unique_ptr<RegistryClient>> Create(const runtime::ServerConfig& config,
                                                                runtime::Cache& cache);
  // The options Create(config, cache) uses, for callers that change some (e.g. the clock).
  static absl::StatusOr<RegistryClientOptions> OptionsFromConfig(
      const runtime::ServerConfig& config, runtime::Cache& cache);
  static absl::StatusOr<std::unique_ptr<RegistryClient>> Create(RegistryClientOptions options);
  // Over an existing channel (tests, in-process use).
  static std::unique_ptr<RegistryClient> ForChannel(std::shared_ptr<grpc::Channel> channel,
                                                    RegistryClientOptions options);

  // Each read may say how current its answer is in `*freshness` (optional).
  // `ods_code` ("J81016") or the resource name ("practices/J81016").
  absl::StatusOr<v1::Practice> GetPractice(std::string_view ods_code,
                                           Freshness* freshness = nullptr);
  // `locality_id` ("poole-bay") or "localities/poole-bay".
  absl::StatusOr<v1::Locality> GetLocality(std::string_view locality_id,
                                           Freshness* freshness = nullptr);
  absl::StatusOr<std::vector<v1::Locality>> ListLocalities(Freshness* freshness = nullptr);
  // `cluster_id` or "clusters/{id}".
  absl::StatusOr<v1::Cluster> GetCluster(std::string_view cluster_id,
                                         Freshness* freshness = nullptr);
  absl::StatusOr<std::vector<v1::Cluster>> ListClusters(Freshness* freshness = nullptr);
  // Governing body code, "11J" by default.
  absl::StatusOr<v1::AreaSummary> GetAreaSummary(std::string_view governing_body = "11J",
                                                 Freshness* freshness = nullptr);
  // Every practice matching `request`'s filters (all pages; page_token is ignored).
  // Not cached: asks the registry.
  absl::StatusOr<std::vector<v1::Practice>> ListAllPractices(v1::ListPracticesRequest request);

  // The stub with this client's channel, for calls the helpers above do not cover. Callers
  // must add the bearer token themselves (see NewContext()).
  v1::RegistryService::Stub& stub() { return *stub_; }
  // A context with the bearer token and a deadline of one attempt.
  std::unique_ptr<grpc::ClientContext> NewContext() const;

  RegistryClientStats stats() const;
  // The registry's reachability: the channel's state (asking it to connect when idle) and the
  // outcome of the last call.
  RegistryHealth Health();

 private:
  RegistryClient(std::shared_ptr<grpc::Channel> channel, RegistryClientOptions options);

  // Runs `call` with retries on UNAVAILABLE / DEADLINE_EXCEEDED.
  absl::Status CallWithRetry(const std::function<grpc::Status(grpc::ClientContext&)>& call);
  // Looks `key` up in the cache and parses it into `message`; false on a miss or bad value.
  bool ReadCache(const std::string& key, google::protobuf::Message& message);
  // The read path of the cache policy (see the top of this file) for one value: `local_key`
  // names the local copy, `shared_key` the registry's Redis key ("" = none), `fetch` asks the
  // registry. `out` receives the value.
  absl::Status Read(const std::string& local_key, const std::string& shared_key,
                    google::protobuf::Message& out,
                    const std::function<absl::Status(google::protobuf::Message&)>& fetch,
                    Freshness* freshness);

  RegistryClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::RegistryService::Stub> stub_;
  std::atomic<int64_t> cache_hits_{0};
  std::atomic<int64_t> cache_misses_{0};
  std::atomic<int64_t> rpcs_{0};
  std::atomic<int64_t> retries_{0};
  std::atomic<int64_t> local_hits_{0};
  std::atomic<int64_t> stale_served_{0};
  // True after a call failed to reach the registry, until one reaches it.
  std::atomic<bool> unreachable_{false};
  runtime::LruCache local_;
  SingleFlight<std::string> flights_;  // serialized value, keyed by local key
};

}  // namespace dorset::registry

#endif  // DORSET_SERVICES_REGISTRY_CLIENT_REGISTRY_CLIENT_H_
