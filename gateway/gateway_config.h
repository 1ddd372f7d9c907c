// The gateway's settings: flags `--name=value`, or DORSET_<NAME> in the environment when the
// flag is absent (as for the services, runtime/config). Unknown flags and bad values are refused.
#ifndef DORSET_GATEWAY_GATEWAY_CONFIG_H_
#define DORSET_GATEWAY_GATEWAY_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "runtime/config/config.h"

namespace dorset::gateway {

struct GatewayConfig {
  std::string http_listen = "127.0.0.1:8090";
  std::string registry_target;  // host:port of each service; empty: not exposed
  std::string finance_target;
  std::string engagement_target;
  std::string backend_tls_ca;  // PEM CA of the services' certificates: TLS to them when set
  std::string tls_cert;        // PEM: serve HTTPS with tls_key
  std::string tls_key;
  bool plaintext = false;  // plain HTTP: must be asked for explicitly
  int max_body_bytes = 1 << 20;
  int default_timeout_seconds = 30;
  int threads = 16;
};

absl::StatusOr<GatewayConfig> LoadGatewayConfig(
    int argc, const char* const* argv, const runtime::EnvLookup& env = runtime::ProcessEnv());

std::string GatewayUsage();

}  // namespace dorset::gateway

#endif  // DORSET_GATEWAY_GATEWAY_CONFIG_H_
