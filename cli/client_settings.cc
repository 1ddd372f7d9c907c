#include "cli/client_settings.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace dorset::cli {
namespace {

struct Service {
  const char* name;
  const char* grpc;
  const char* ops;
};
constexpr Service kServices[] = {
    {"registry", "127.0.0.1:50051", "127.0.0.1:8081"},
    {"finance", "127.0.0.1:50052", "127.0.0.1:8082"},
    {"engagement", "127.0.0.1:50053", "127.0.0.1:8083"},
};

std::optional<std::string> Env(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

std::optional<std::string> Default(const std::string& key) {
  for (const Service& s : kServices) {
    if (key == s.name) return s.grpc;
    if (key == absl::StrCat(s.name, "_ops")) return s.ops;
  }
  return std::nullopt;
}

// Variables read after DORSETCTL_<KEY> for compatibility; none of them is a server setting.
std::optional<std::string> LegacyEnvName(const std::string& key) {
  if (key == "token" || key == "tls_ca" || key == "client_cert" || key == "client_key") {
    return absl::StrCat("DORSET_", absl::AsciiStrToUpper(key));
  }
  return std::nullopt;
}

// $XDG_CONFIG_HOME/dorsetctl/config; XDG says a relative XDG_CONFIG_HOME is to be ignored.
std::string DefaultConfigPath() {
  if (auto xdg = Env("XDG_CONFIG_HOME"); xdg && xdg->front() == '/') {
    return absl::StrCat(*xdg, "/dorsetctl/config");
  }
  if (auto home = Env("HOME")) return absl::StrCat(*home, "/.config/dorsetctl/config");
  return "";
}

}  // namespace

const std::vector<std::string>& ClientSettings::Keys() {
  static const std::vector<std::string> keys = {
      "registry",       "finance", "engagement", "registry_ops", "finance_ops",
      "engagement_ops", "token",   "tls_ca",     "client_cert",  "client_key"};
  return keys;
}

absl::StatusOr<ClientSettings> ClientSettings::Load(const Args& args) {
  ClientSettings settings(args);
  std::string path;
  bool required = true;
  if (auto flag = args.Get("config")) {
    path = *flag;
  } else if (auto env = Env("DORSETCTL_CONFIG")) {
    path = *env;
  } else {
    path = DefaultConfigPath();
    required = false;
  }
  settings.config_path_ = path;
  if (path.empty()) return settings;
  std::ifstream in(path);
  if (!in) {
    if (!required) return settings;
    return absl::InvalidArgumentError(absl::StrCat("config: cannot read ", path));
  }
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    absl::string_view text = absl::StripAsciiWhitespace(line);
    if (text.empty() || text.front() == '#') continue;
    const size_t eq = text.find('=');
    const std::string where = absl::StrCat(path, ":", number);
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": expected key = value"));
    }
    const std::string key(absl::StripAsciiWhitespace(text.substr(0, eq)));
    const std::string value(absl::StripAsciiWhitespace(text.substr(eq + 1)));
    if (std::find(Keys().begin(), Keys().end(), key) == Keys().end()) {
      std::string known;
      for (const std::string& k : Keys()) absl::StrAppend(&known, known.empty() ? "" : ", ", k);
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": unknown key \"", key, "\" (known: ", known, ")"));
    }
    settings.file_[key] = Value{value, absl::StrCat("config ", where)};
  }
  return settings;
}

std::optional<ClientSettings::Value> ClientSettings::Get(const std::string& key,
                                                         const std::string& group_flag) const {
  if (!group_flag.empty()) {
    if (auto v = args_.Get(group_flag)) return Value{*v, absl::StrCat("flag --", group_flag)};
  }
  if (auto v = args_.Get(key)) return Value{*v, absl::StrCat("flag --", key)};
  const std::string env = absl::StrCat("DORSETCTL_", absl::AsciiStrToUpper(key));
  if (auto v = Env(env)) return Value{*v, absl::StrCat("env ", env)};
  if (auto legacy = LegacyEnvName(key)) {
    if (auto v = Env(*legacy)) return Value{*v, absl::StrCat("env ", *legacy)};
  }
  if (auto it = file_.find(key); it != file_.end()) return it->second;
  if (auto v = Default(key)) return Value{*v, "default"};
  return std::nullopt;
}

ClientSettings::Value ClientSettings::Target(const std::string& service, bool own_group) const {
  return Get(service, own_group ? "target" : "").value_or(Value{"", "none"});
}

ClientSettings::Value ClientSettings::Ops(const std::string& service) const {
  return Get(absl::StrCat(service, "_ops")).value_or(Value{"", "none"});
}

int RunConfigCommand(int argc, char** argv) {
  Args args(argc, argv, 0);
  absl::StatusOr<ClientSettings> settings = ClientSettings::Load(args);
  if (!settings.ok()) {
    std::cerr << settings.status().message() << "\n";
    return 2;
  }
  std::cout << "# config file: "
            << (settings->config_path().empty() ? "(none)" : settings->config_path()) << "\n";
  for (const std::string& key : ClientSettings::Keys()) {
    std::optional<ClientSettings::Value> v = settings->Get(key);
    if (!v) {
      std::cout << key << "\t(unset)\n";
      continue;
    }
    // Never print a token: only that one is set and where from.
    const std::string shown = key == "token" ? "(set)" : v->value;
    std::cout << key << "\t" << shown << "\t" << v->source << "\n";
  }
  return 0;
}

}  // namespace dorset::cli
