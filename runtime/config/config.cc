#include "runtime/config/config.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "runtime/base/string_view.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/database_url.h"

namespace dorset::runtime {
namespace {

absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// One setting: its name, help and how it writes into the config.
struct Setting {
  std::string name;
  std::string help;
  std::function<absl::Status(ServerConfig&, const std::string&)> apply;
};

absl::Status ParseBool(const std::string& name, const std::string& value, bool& out) {
  const std::string v = absl::AsciiStrToLower(value);
  if (v == "true" || v == "1" || v == "yes" || v.empty()) {
    out = true;
  } else if (v == "false" || v == "0" || v == "no") {
    out = false;
  } else {
    return InvalidArgument(name, absl::StrCat("expected true or false, got \"", value, "\""));
  }
  return absl::OkStatus();
}

absl::Status ParseInt(const std::string& name, const std::string& value, int low, int high,
                      int& out) {
  int parsed = 0;
  if (!absl::SimpleAtoi(value, &parsed) || parsed < low || parsed > high) {
    return InvalidArgument(name, absl::StrCat("expected a whole number from ", low, " to ", high,
                                              ", got \"", value, "\""));
  }
  out = parsed;
  return absl::OkStatus();
}

#define DORSET_STRING_SETTING(field, help_text)                                       \
  Setting {                                                                           \
#field, help_text, [](ServerConfig& c, const std::string& v) {                      \
      c.field = v;                                                                      \
      return absl::OkStatus();                                                          \
    } \
  }
#define DORSET_BOOL_SETTING(field, help_text)                                                \
  Setting {                                                                                  \
#field, help_text,                                                                       \
        [](ServerConfig & c, const std::string& v) { return ParseBool(#field, v, c.field); } \
  }
#define DORSET_INT_SETTING(field, low, high, help_text)                              \
  Setting {                                                                          \
#field, help_text,                                                               \
        [](ServerConfig & c,                                                         \
           const std::string& v) { return ParseInt(#field, v, low, high, c.field); } \
  }

const std::vector<Setting>& Settings() {
  static const auto* settings = new std::vector<Setting>{
      DORSET_STRING_SETTING(grpc_listen, "gRPC listen address host:port (port 0 = any free)"),
      DORSET_STRING_SETTING(ops_listen, "HTTP ops address for /livez /readyz /metrics"),
      DORSET_STRING_SETTING(data_dir, "directory holding the service's SQLite store"),
      DORSET_STRING_SETTING(database,
                            "sqlite:///path or postgres://user@host:port/db?sslmode="
                            "... (empty: <data_dir>/<service>.db)"),
      DORSET_STRING_SETTING(database_password_file, "file holding the PostgreSQL password"),
      DORSET_STRING_SETTING(page_token_key_file,
                            "file holding the page-token signing key all replicas share "
                            "(empty: <data_dir>/page-token.key)"),
      DORSET_STRING_SETTING(redis, "Redis host:port for the shared cache; empty = in-process"),
      DORSET_STRING_SETTING(redis_user, "Redis ACL user the cache authenticates as"),
      DORSET_STRING_SETTING(redis_password_file,
                            "file holding the Redis password (AUTH after each connect)"),
      DORSET_STRING_SETTING(tls_cert, "PEM certificate chain for the gRPC port"),
      DORSET_STRING_SETTING(tls_key, "PEM private key for the gRPC port"),
      DORSET_STRING_SETTING(tls_client_ca, "PEM CA: require client certificates (mutual TLS)"),
      DORSET_BOOL_SETTING(plaintext, "serve gRPC without TLS (local development only)"),
      Setting{"auth", "tokens (bearer tokens and client certificates) or none (development)",
              [](ServerConfig& c, const std::string& v) -> absl::Status {
                if (v == "tokens") {
                  c.auth = AuthMode::kTokens;
                } else if (v == "none") {
                  c.auth = AuthMode::kNone;
                } else {
                  return InvalidArgument("auth", "expected tokens or none");
                }
                return absl::OkStatus();
              }},
      DORSET_STRING_SETTING(tokens_file, "bearer tokens file: <sha256-hex> <principal> <roles>"),
      DORSET_BOOL_SETTING(open_health, "health and reflection need no credentials"),
      DORSET_STRING_SETTING(log_level, "trace, debug, info, warn or error"),
      DORSET_INT_SETTING(drain_seconds, 0, 300, "seconds NOT_SERVING before shutdown"),
      DORSET_INT_SETTING(shutdown_grace_seconds, 0, 600, "seconds in-flight calls may finish"),
      DORSET_INT_SETTING(max_message_bytes, 1024, 64 * 1024 * 1024, "largest gRPC message"),
      DORSET_INT_SETTING(rate_limit_per_second, 0, 1000000, "calls per second per principal"),
      DORSET_INT_SETTING(rate_limit_burst, 1, 10000000, "burst size of the rate limit"),
      DORSET_STRING_SETTING(principal_rate_limits,
                            "own limits instead: principal=per_second[/burst],... (\"\" = none)"),
      DORSET_STRING_SETTING(registry_target, "the registry's gRPC address (finance, engagement)"),
      DORSET_STRING_SETTING(registry_tls_ca, "PEM CA for TLS to the registry (empty: plaintext)"),
      DORSET_STRING_SETTING(registry_tls_cert,
                            "PEM client certificate for mutual TLS to the registry"),
      DORSET_STRING_SETTING(registry_tls_key, "PEM private key of registry_tls_cert"),
      DORSET_STRING_SETTING(service_token_file, "file holding this service's own bearer token"),
      DORSET_STRING_SETTING(ledger_seal_key_file,
                            "finance: file holding the HMAC key that signs month-end seals "
                            "(empty: <data_dir>/ledger-seal.key)"),
      DORSET_INT_SETTING(engagement_retention_days, 0, 36500,
                         "engagement: days contact details are kept after the last activity "
                         "(0 = off)"),
      DORSET_INT_SETTING(engagement_retention_interval_seconds, 1, 7 * 86400,
                         "engagement: seconds between runs of the retention timer"),
      DORSET_INT_SETTING(cache_pool_size, 1, 64, "Redis connections in the pool"),
      DORSET_INT_SETTING(cache_ttl_seconds, 1, 86400, "cache entry lifetime"),
  };
  return *settings;
}

std::string EnvName(const std::string& setting) {
  return absl::StrCat("DORSET_", absl::AsciiStrToUpper(setting));
}

}  // namespace

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

absl::StatusOr<std::map<std::string, RateLimit>> ParsePrincipalRateLimits(std::string_view text) {
  constexpr char kName[] = "principal_rate_limits";
  std::map<std::string, RateLimit> limits;
  for (absl::string_view entry : absl::StrSplit(Sv(text), ',', absl::SkipWhitespace())) {
    entry = absl::StripAsciiWhitespace(entry);
    const auto bad = [&](absl::string_view why) {
      return InvalidArgument(kName, absl::StrCat("\"", entry, "\": ", why,
                                                 " (expected principal=per_second[/burst])"));
    };
    const size_t eq = entry.find('=');
    if (eq == absl::string_view::npos) return bad("no '='");
    const std::string principal(absl::StripAsciiWhitespace(entry.substr(0, eq)));
    if (principal.empty()) return bad("no principal");
    const std::vector<absl::string_view> numbers = absl::StrSplit(entry.substr(eq + 1), '/');
    RateLimit limit;
    if (numbers.size() > 2 ||
        !absl::SimpleAtoi(absl::StripAsciiWhitespace(numbers[0]), &limit.per_second) ||
        limit.per_second < 0 || limit.per_second > 1000000) {
      return bad("per_second must be a whole number from 0 to 1000000");
    }
    limit.burst = std::max(1, 2 * limit.per_second);
    if (numbers.size() == 2 &&
        (!absl::SimpleAtoi(absl::StripAsciiWhitespace(numbers[1]), &limit.burst) ||
         limit.burst < 1 || limit.burst > 10000000)) {
      return bad("burst must be a whole number from 1 to 10000000");
    }
    if (!limits.emplace(principal, limit).second) return bad("the principal is listed twice");
  }
  return limits;
}

absl::StatusOr<std::pair<std::string, int>> SplitHostPort(std::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected host:port, got \"", Sv(address), "\""));
  }
  std::string host(address.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = 0;
  if (!absl::SimpleAtoi(Sv(address.substr(colon + 1)), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("bad port in \"", Sv(address), "\""));
  }
  return std::make_pair(host, port);
}

absl::StatusOr<ServerConfig> LoadServerConfig(const ServerDefaults& defaults, int argc,
                                              const char* const* argv, const EnvLookup& env) {
  ServerConfig config;
  config.service = defaults.service;
  config.grpc_listen = defaults.grpc_listen;
  config.ops_listen = defaults.ops_listen;
  config.data_dir = absl::StrCat("var/", defaults.service);

  std::map<std::string, std::string> flags;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      return absl::CancelledError(Usage(defaults));
    }
    if (arg.substr(0, 2) != "--") {
      return InvalidArgument("argv", absl::StrCat("unexpected argument \"", Sv(arg), "\""));
    }
    arg.remove_prefix(2);
    const size_t eq = arg.find('=');
    std::string name(arg.substr(0, eq));
    std::string value = eq == std::string_view::npos ? "" : std::string(arg.substr(eq + 1));
    flags[name] = value;
  }

  for (const Setting& setting : Settings()) {
    std::optional<std::string> value;
    if (auto it = flags.find(setting.name); it != flags.end()) {
      value = it->second;
      flags.erase(it);
    } else {
      value = env(EnvName(setting.name));
    }
    if (value.has_value()) RETURN_IF_ERROR(setting.apply(config, *value));
  }
  if (!flags.empty()) {
    return InvalidArgument(flags.begin()->first,
                           absl::StrCat("unknown flag --", flags.begin()->first, " (see --help)"));
  }
  RETURN_IF_ERROR(Validate(config));
  return config;
}

absl::Status Validate(const ServerConfig& c) {
  if (auto hp = SplitHostPort(c.grpc_listen); !hp.ok()) {
    return InvalidArgument("grpc_listen", ToStd(hp.status().message()));
  }
  if (auto hp = SplitHostPort(c.ops_listen); !hp.ok()) {
    return InvalidArgument("ops_listen", ToStd(hp.status().message()));
  }
  if (!c.redis.empty()) {
    if (auto hp = SplitHostPort(c.redis); !hp.ok()) {
      return InvalidArgument("redis", ToStd(hp.status().message()));
    }
  }
  if (!c.redis_user.empty() && c.redis_password_file.empty()) {
    return InvalidArgument("redis_password_file", "redis_user needs a password file");
  }
  if (!c.redis_password_file.empty() && !std::filesystem::exists(c.redis_password_file)) {
    return InvalidArgument("redis_password_file",
                           absl::StrCat("file not found: ", c.redis_password_file));
  }
  if (c.data_dir.empty()) return InvalidArgument("data_dir", "must not be empty");
  RETURN_IF_ERROR(ParsePrincipalRateLimits(c.principal_rate_limits).status());
  if (auto url = storage::ParseDatabaseUrl(c.database, c.data_dir, c.service); !url.ok()) {
    return url.status();  // names `database`
  }
  if (!c.ledger_seal_key_file.empty() && !std::filesystem::exists(c.ledger_seal_key_file)) {
    return InvalidArgument("ledger_seal_key_file",
                           absl::StrCat("file not found: ", c.ledger_seal_key_file));
  }
  if (!c.database_password_file.empty() && !std::filesystem::exists(c.database_password_file)) {
    return InvalidArgument("database_password_file",
                           absl::StrCat("file not found: ", c.database_password_file));
  }
  if (!c.page_token_key_file.empty() && !std::filesystem::exists(c.page_token_key_file)) {
    return InvalidArgument("page_token_key_file",
                           absl::StrCat("file not found: ", c.page_token_key_file));
  }
  const bool has_tls = !c.tls_cert.empty() || !c.tls_key.empty();
  if (has_tls && (c.tls_cert.empty() || c.tls_key.empty())) {
    return InvalidArgument(c.tls_cert.empty() ? "tls_cert" : "tls_key",
                           "tls_cert and tls_key must be given together");
  }
  if (!has_tls && !c.plaintext) {
    return InvalidArgument("plaintext",
                           "no TLS certificate configured: give --tls_cert/--tls_key, or "
                           "--plaintext=true to serve without TLS (development only)");
  }
  if (has_tls && c.plaintext) {
    return InvalidArgument("plaintext", "plaintext=true contradicts tls_cert/tls_key");
  }
  if (!c.tls_client_ca.empty() && !has_tls) {
    return InvalidArgument("tls_client_ca", "mutual TLS needs tls_cert and tls_key");
  }
  for (const auto& [name, path] :
       {std::pair<const char*, const std::string&>{"tls_cert", c.tls_cert},
        {"tls_key", c.tls_key},
        {"tls_client_ca", c.tls_client_ca}}) {
    if (!path.empty() && !std::filesystem::exists(path)) {
      return InvalidArgument(name, absl::StrCat("file not found: ", path));
    }
  }
  if (c.auth == AuthMode::kTokens && c.tokens_file.empty() && c.tls_client_ca.empty()) {
    return InvalidArgument("tokens_file",
                           "auth=tokens needs a tokens file or mutual TLS; use --auth=none only "
                           "for local development");
  }
  if (!c.tokens_file.empty() && !std::filesystem::exists(c.tokens_file)) {
    return InvalidArgument("tokens_file", absl::StrCat("file not found: ", c.tokens_file));
  }
  if (c.log_level != "trace" && c.log_level != "debug" && c.log_level != "info" &&
      c.log_level != "warn" && c.log_level != "error") {
    return InvalidArgument("log_level", "expected trace, debug, info, warn or error");
  }
  if (c.registry_tls_cert.empty() != c.registry_tls_key.empty()) {
    return InvalidArgument(c.registry_tls_cert.empty() ? "registry_tls_cert" : "registry_tls_key",
                           "registry_tls_cert and registry_tls_key must be given together");
  }
  if (!c.registry_tls_cert.empty() && c.registry_tls_ca.empty()) {
    return InvalidArgument("registry_tls_ca", "mutual TLS to the registry needs its CA");
  }
  if (!c.registry_target.empty()) {
    if (auto hp = SplitHostPort(c.registry_target); !hp.ok()) {
      return InvalidArgument("registry_target", ToStd(hp.status().message()));
    }
  }
  return absl::OkStatus();
}

std::string Usage(const ServerDefaults& defaults) {
  std::string out =
      absl::StrCat("usage: dorset-", defaults.service, " [--setting=value ...]\n",
                   "Each setting may also come from the environment variable shown.\n");
  for (const Setting& s : Settings()) {
    absl::StrAppend(&out, "  --", s.name, "  (", EnvName(s.name), ")\n      ", s.help, "\n");
  }
  return out;
}

}  // namespace dorset::runtime
