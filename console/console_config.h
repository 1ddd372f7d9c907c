// The web console's settings: flags `--name=value`, or DORSET_<NAME> in the environment when the
// flag is absent (as for the gateway and the services). Unknown flags and bad values are refused.
#ifndef DORSET_CONSOLE_CONSOLE_CONFIG_H_
#define DORSET_CONSOLE_CONSOLE_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "runtime/config/config.h"

namespace dorset::console {

struct ConsoleConfig {
  std::string http_listen = "127.0.0.1:8095";
  std::string registry_target;  // host:port of each service (all three required)
  std::string finance_target;
  std::string engagement_target;
  // The services' ops HTTP addresses (/livez /readyz /metrics) for the ops page; empty: shown
  // as not reached.
  std::string registry_ops;
  std::string finance_ops;
  std::string engagement_ops;
  std::string backend_tls_ca;  // PEM CA of the services' certificates: TLS to them when set
  // The console's own bearer token (a file), for the public pages: a principal with the role
  // engagement-respondent (reads with personal data redacted, and CreateResponse only).
  std::string service_token_file;
  std::string tls_cert;  // PEM: serve HTTPS with tls_key (and send HSTS)
  std::string tls_key;
  bool plaintext = false;  // plain HTTP: must be asked for explicitly
  // nhsuk-frontend's dist/nhsuk directory (CSS, JS, images); default: the build's node_modules.
  std::string assets_dir;
  // A file with the key CSRF tokens are signed with (replicas behind one address share it);
  // empty: a random key per process.
  std::string csrf_key_file;
  // Responses the public may send per client address: a bucket of `respond_burst`, refilled
  // at `respond_per_minute`.
  int respond_per_minute = 6;
  int respond_burst = 5;
  int threads = 8;
};

absl::StatusOr<ConsoleConfig> LoadConsoleConfig(
    int argc, const char* const* argv, const runtime::EnvLookup& env = runtime::ProcessEnv());

std::string ConsoleUsage();

}  // namespace dorset::console

#endif  // DORSET_CONSOLE_CONSOLE_CONFIG_H_
