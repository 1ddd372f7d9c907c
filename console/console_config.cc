// Parsing and validation of the console's settings (see console_config.h).
#include "console/console_config.h"

#include <fstream>
#include <functional>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace dorset::console {
namespace {

using Setter = std::function<bool(ConsoleConfig&, const std::string&)>;

struct Setting {
  const char* name;
  const char* help;
  Setter set;
};

Setter Text(std::string ConsoleConfig::*field) {
  return [field](ConsoleConfig& c, const std::string& v) {
    c.*field = v;
    return true;
  };
}

Setter Int(int ConsoleConfig::*field, int min, int max) {
  return [field, min, max](ConsoleConfig& c, const std::string& v) {
    int value;
    if (!absl::SimpleAtoi(v, &value) || value < min || value > max) return false;
    c.*field = value;
    return true;
  };
}

const std::vector<Setting>& Settings() {
  static const auto* settings = new std::vector<Setting>{
      {"http_listen", "host:port of the console", Text(&ConsoleConfig::http_listen)},
      {"registry_target", "host:port of the registry", Text(&ConsoleConfig::registry_target)},
      {"finance_target", "host:port of finance", Text(&ConsoleConfig::finance_target)},
      {"engagement_target", "host:port of engagement", Text(&ConsoleConfig::engagement_target)},
      {"registry_ops", "host:port of the registry's ops HTTP", Text(&ConsoleConfig::registry_ops)},
      {"finance_ops", "host:port of finance's ops HTTP", Text(&ConsoleConfig::finance_ops)},
      {"engagement_ops", "host:port of engagement's ops HTTP",
       Text(&ConsoleConfig::engagement_ops)},
      {"backend_tls_ca", "PEM CA of the services' certificates (TLS to them when set)",
       Text(&ConsoleConfig::backend_tls_ca)},
      {"service_token_file", "the console's own bearer token, for the public pages",
       Text(&ConsoleConfig::service_token_file)},
      {"tls_cert", "PEM certificate chain: serve HTTPS", Text(&ConsoleConfig::tls_cert)},
      {"tls_key", "PEM private key of tls_cert", Text(&ConsoleConfig::tls_key)},
      {"plaintext", "true: plain HTTP (must be asked for)",
       [](ConsoleConfig& c, const std::string& v) {
         if (v != "true" && v != "false") return false;
         c.plaintext = v == "true";
         return true;
       }},
      {"assets_dir", "nhsuk-frontend's dist/nhsuk directory", Text(&ConsoleConfig::assets_dir)},
      {"csrf_key_file", "key CSRF tokens are signed with (default: random per process)",
       Text(&ConsoleConfig::csrf_key_file)},
      {"respond_per_minute", "public responses per client address per minute",
       Int(&ConsoleConfig::respond_per_minute, 1, 10000)},
      {"respond_burst", "public responses per client address at once",
       Int(&ConsoleConfig::respond_burst, 1, 10000)},
      {"threads", "HTTP worker threads", Int(&ConsoleConfig::threads, 1, 256)},
  };
  return *settings;
}

bool Readable(const std::string& path) { return std::ifstream(path).good(); }

}  // namespace

std::string ConsoleUsage() {
  std::string out = "dorset-console: the web console (docs/console.md)\n";
  for (const Setting& s : Settings()) {
    absl::StrAppend(&out, "  --", s.name, "  (DORSET_", absl::AsciiStrToUpper(s.name), ")  ",
                    s.help, "\n");
  }
  return out;
}

absl::StatusOr<ConsoleConfig> LoadConsoleConfig(int argc, const char* const* argv,
                                                const runtime::EnvLookup& env) {
  ConsoleConfig config;
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
  for (const std::string* target :
       {&config.registry_target, &config.finance_target, &config.engagement_target}) {
    if (target->empty()) {
      return absl::InvalidArgumentError(
          "--registry_target, --finance_target and --engagement_target are required");
    }
  }
  for (const std::string* file : {&config.tls_cert, &config.tls_key, &config.backend_tls_ca,
                                  &config.service_token_file, &config.csrf_key_file}) {
    if (!file->empty() && !Readable(*file)) {
      return absl::InvalidArgumentError(absl::StrCat("cannot read ", *file));
    }
  }
  return config;
}

}  // namespace dorset::console
