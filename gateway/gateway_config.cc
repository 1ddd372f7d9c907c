// Parsing and validation of the gateway's settings (see gateway_config.h).
#include "gateway/gateway_config.h"

#include <fstream>
#include <functional>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace dorset::gateway {
namespace {

struct Setting {
  const char* name;
  const char* help;
  std::function<bool(GatewayConfig&, const std::string&)> set;
};

std::function<bool(GatewayConfig&, const std::string&)> Text(std::string GatewayConfig::*field) {
  return [field](GatewayConfig& c, const std::string& v) {
    c.*field = v;
    return true;
  };
}
std::function<bool(GatewayConfig&, const std::string&)> Int(int GatewayConfig::*field, int min,
                                                            int max) {
  return [field, min, max](GatewayConfig& c, const std::string& v) {
    int value;
    if (!absl::SimpleAtoi(v, &value) || value < min || value > max) return false;
    c.*field = value;
    return true;
  };
}

const std::vector<Setting>& Settings() {
  static const auto* settings = new std::vector<Setting>{
      {"http_listen", "host:port of the HTTP/JSON API", Text(&GatewayConfig::http_listen)},
      {"registry_target", "host:port of the registry (empty: not exposed)",
       Text(&GatewayConfig::registry_target)},
      {"finance_target", "host:port of finance (empty: not exposed)",
       Text(&GatewayConfig::finance_target)},
      {"engagement_target", "host:port of engagement (empty: not exposed)",
       Text(&GatewayConfig::engagement_target)},
      {"backend_tls_ca", "PEM CA of the services' certificates (TLS to them when set)",
       Text(&GatewayConfig::backend_tls_ca)},
      {"tls_cert", "PEM certificate chain: serve HTTPS", Text(&GatewayConfig::tls_cert)},
      {"tls_key", "PEM private key of tls_cert", Text(&GatewayConfig::tls_key)},
      {"plaintext", "true: plain HTTP (must be asked for)",
       [](GatewayConfig& c, const std::string& v) {
         if (v != "true" && v != "false") return false;
         c.plaintext = v == "true";
         return true;
       }},
      {"max_body_bytes", "largest request body (413 beyond)",
       Int(&GatewayConfig::max_body_bytes, 1, 64 << 20)},
      {"default_timeout_seconds", "deadline of a unary call without grpc-timeout",
       Int(&GatewayConfig::default_timeout_seconds, 1, 3600)},
      {"threads", "workers for blocking requests (FHIR, streams; HTTPS: one per connection)",
       Int(&GatewayConfig::threads, 1, 1024)},
  };
  return *settings;
}

bool Readable(const std::string& path) { return std::ifstream(path).good(); }

}  // namespace

std::string GatewayUsage() {
  std::string out = "dorset-gateway: HTTP/JSON for the services' gRPC APIs (docs/gateway.md)\n";
  for (const Setting& s : Settings()) {
    absl::StrAppend(&out, "  --", s.name, "  (DORSET_", absl::AsciiStrToUpper(s.name), ")  ",
                    s.help, "\n");
  }
  return out;
}

absl::StatusOr<GatewayConfig> LoadGatewayConfig(int argc, const char* const* argv,
                                                const runtime::EnvLookup& env) {
  GatewayConfig config;
  std::map<std::string, std::string> flags;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const size_t eq = arg.find('=');
    if (arg.rfind("--", 0) != 0 || eq == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("expected --name=value, got ", arg));
    }
    flags[arg.substr(2, eq - 2)] = arg.substr(eq + 1);
  }
  for (const auto& [name, value] : flags) {
    bool known = false;
    for (const Setting& s : Settings()) known |= name == s.name;
    if (!known) return absl::InvalidArgumentError(absl::StrCat("unknown setting --", name));
  }
  for (const Setting& s : Settings()) {
    std::optional<std::string> value;
    if (auto it = flags.find(s.name); it != flags.end()) {
      value = it->second;
    } else {
      value = env(absl::StrCat("DORSET_", absl::AsciiStrToUpper(s.name)));
    }
    if (value && !s.set(config, *value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad value for --", s.name, ": \"", *value, "\""));
    }
  }
  if (absl::StatusOr<std::pair<std::string, int>> a = runtime::SplitHostPort(config.http_listen);
      !a.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--http_listen: ", a.status().message()));
  }
  if (config.tls_cert.empty() != config.tls_key.empty()) {
    return absl::InvalidArgumentError("--tls_cert and --tls_key go together");
  }
  if (config.tls_cert.empty() && !config.plaintext) {
    return absl::InvalidArgumentError(
        "no TLS: set --tls_cert/--tls_key, or --plaintext=true to serve plain HTTP");
  }
  for (const std::string* file : {&config.tls_cert, &config.tls_key, &config.backend_tls_ca}) {
    if (!file->empty() && !Readable(*file)) {
      return absl::InvalidArgumentError(absl::StrCat("cannot read ", *file));
    }
  }
  if (config.registry_target.empty() && config.finance_target.empty() &&
      config.engagement_target.empty()) {
    return absl::InvalidArgumentError(
        "no service to expose: set --registry_target, --finance_target or --engagement_target");
  }
  return config;
}

}  // namespace dorset::gateway
