// The one place a server's configuration is defined, parsed and validated.
//
// Every setting is a flag `--name=value`; the environment variable DORSET_<NAME> (upper
// case) supplies it when the flag is absent, so the same binary runs from a shell, from
// scripts/run and from a Kubernetes ConfigMap. Load() refuses unknown flags and bad values
// with a message that names the setting.
#ifndef DORSET_RUNTIME_CONFIG_CONFIG_H_
#define DORSET_RUNTIME_CONFIG_CONFIG_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace dorset::runtime {

enum class AuthMode { kTokens, kNone };

// The own rate limits of the services' principals that call the registry, used in place of
// rate_limit_per_second/burst for them so that one service never uses up another's calls:
// scripts/run's local-* and the dev overlay's svc-* (production names its principals in the
// tokens Secret and sets DORSET_PRINCIPAL_RATE_LIMITS to match; docs/operations.md).
// Sized for finance's per-head figures at 150 calls/s with Redis down: each needs at most two
// registry calls (ListClusters, ListLocalities) when the client holds no fresh copy, 300/s,
// well inside 1,000/s with a burst of 2,000; engagement gets the same.
inline constexpr char kDefaultPrincipalRateLimits[] =
    "local-finance=1000/2000,local-engagement=1000/2000,"
    "svc-finance=1000/2000,svc-engagement=1000/2000";

struct RateLimit {
  int per_second = 0;  // 0: no limit for this principal
  int burst = 1;
};

struct ServerConfig {
  // Which service this process runs ("registry", "finance", "engagement", "echo").
  std::string service;
  std::string grpc_listen;  // host:port; port 0 picks a free port
  std::string ops_listen;   // host:port of the HTTP ops server (/livez /readyz /metrics)
  std::string data_dir;     // the service's SQLite store lives here
  std::string database;     // empty: SQLite under data_dir; or sqlite:///path, postgres://...
  std::string database_password_file;  // PostgreSQL password (never in the URI, never logged)
  std::string redis;                   // host:port; empty = in-process LRU cache
  std::string tls_cert;                // PEM server certificate chain
  std::string tls_key;                 // PEM private key
  std::string tls_client_ca;           // when set, clients must present a certificate signed by it
  bool plaintext = false;              // no TLS: must be asked for explicitly
  AuthMode auth = AuthMode::kTokens;
  std::string tokens_file;  // "<sha256 hex> <principal> <role,role>" per line
  bool open_health = true;  // health and reflection need no credentials
  std::string log_level = "info";
  int drain_seconds = 2;  // NOT_SERVING before Shutdown, so load balancers move away
  int shutdown_grace_seconds = 10;
  int max_message_bytes = 4 * 1024 * 1024;
  int rate_limit_per_second = 200;  // per principal; 0 disables
  int rate_limit_burst = 400;
  // "principal=per_second[/burst],...": principals with their own limit (burst defaults to
  // twice the rate). See kDefaultPrincipalRateLimits.
  std::string principal_rate_limits = kDefaultPrincipalRateLimits;
  std::string registry_target;     // finance/engagement: where the registry listens
  std::string registry_tls_ca;     // PEM CA to verify the registry's certificate (TLS when set)
  std::string registry_tls_cert;   // client certificate for mutual TLS to the registry
  std::string registry_tls_key;    // its private key
  std::string service_token_file;  // bearer token this service presents to other services
  int cache_pool_size = 4;
  int cache_ttl_seconds = 300;
  // Redis ACL user (AUTH user password after each connect); needs redis_password_file.
  std::string redis_user;
  std::string redis_password_file;  // file holding the Redis password (never logged)
  // finance: the HMAC-SHA-256 key that signs month-end seals, kept outside the database
  // (production: a Secret); empty = <data_dir>/ledger-seal.key, made on first use.
  std::string ledger_seal_key_file;
  // The page-token signing key every replica of a service shares (a Secret mount); empty = a
  // key of this process's own in <data_dir>/page-token.key (runtime/api/page_token.h).
  std::string page_token_key_file;
  // engagement: how long a stakeholder's contact details are kept after their last activity
  // (whole days; 0 = off), and how often the service's retention timer runs (docs/engagement.md).
  int engagement_retention_days = 0;
  int engagement_retention_interval_seconds = 3600;
};

// Defaults that differ per service (ports).
struct ServerDefaults {
  std::string service;
  std::string grpc_listen;
  std::string ops_listen;
};

// Looks up an environment variable; tests inject their own.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup ProcessEnv();

// Parses flags (argv[1..]) over environment over defaults, then validates.
absl::StatusOr<ServerConfig> LoadServerConfig(const ServerDefaults& defaults, int argc,
                                              const char* const* argv,
                                              const EnvLookup& env = ProcessEnv());

// Checks cross-field rules (TLS files exist, plaintext chosen explicitly, ports parse...).
absl::Status Validate(const ServerConfig& config);

// The usage text listing every setting and its environment variable.
std::string Usage(const ServerDefaults& defaults);

// Parses principal_rate_limits ("" = none); INVALID_ARGUMENT naming the setting and the entry.
absl::StatusOr<std::map<std::string, RateLimit>> ParsePrincipalRateLimits(std::string_view text);

// Splits "host:port" ("[::1]:50051" too). Port must be 0..65535.
absl::StatusOr<std::pair<std::string, int>> SplitHostPort(std::string_view address);

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_CONFIG_CONFIG_H_
