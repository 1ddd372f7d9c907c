// dorsetctl's own settings: where each service is, the bearer token and the TLS files. They are
// the client's alone: the servers read DORSET_* variables (DORSET_REGISTRY_TARGET is the
// finance and engagement servers' registry address), so the client never reads those for an
// address. Each value comes from, in order:
//   1. a command-line flag (--registry=, --finance=, --engagement=, or --target= for the
//      group's own service; --registry_ops= ...; --token=, --tls_ca=, --client_cert=,
//      --client_key=);
//   2. a DORSETCTL_* environment variable (DORSETCTL_REGISTRY, DORSETCTL_FINANCE_OPS,
//      DORSETCTL_TOKEN, ...);
//   3. the config file: --config=FILE, else $DORSETCTL_CONFIG, else
//      $XDG_CONFIG_HOME/dorsetctl/config (XDG_CONFIG_HOME defaulting to ~/.config), with
//      lines "key = value" using the flag names and "#" comments;
//   4. the default: the services on this machine (127.0.0.1:50051..50053, ops 8081..8083).
// For the token and TLS files the older DORSET_TOKEN, DORSET_TLS_CA, DORSET_CLIENT_CERT and
// DORSET_CLIENT_KEY are still read after DORSETCTL_* (no server reads them).
#ifndef DORSET_CLI_CLIENT_SETTINGS_H_
#define DORSET_CLI_CLIENT_SETTINGS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/cli_common.h"

namespace dorset::cli {

class ClientSettings {
 public:
  // A value and where it came from ("flag --registry", "env DORSETCTL_REGISTRY",
  // "config /home/me/.config/dorsetctl/config:3", "default").
  struct Value {
    std::string value;
    std::string source;
  };

  // Reads the config file (a missing default file is fine; a missing --config or
  // $DORSETCTL_CONFIG file, an unknown key or a malformed line is INVALID_ARGUMENT).
  static absl::StatusOr<ClientSettings> Load(const Args& args);

  // The keys the file may hold, in the order `dorsetctl config` prints them.
  static const std::vector<std::string>& Keys();

  // The value of `key` (one of Keys()); `group_flag` is an extra flag that wins over --key (the
  // group's --target). nullopt when no source and no default has it.
  std::optional<Value> Get(const std::string& key, const std::string& group_flag = "") const;
  // gRPC address of "registry", "finance" or "engagement" (--target counts when `own_group`).
  Value Target(const std::string& service, bool own_group) const;
  // ops HTTP address of a service.
  Value Ops(const std::string& service) const;
  const std::string& config_path() const { return config_path_; }

 private:
  explicit ClientSettings(const Args& args) : args_(args) {}

  const Args& args_;
  std::string config_path_;
  std::map<std::string, Value> file_;
};

// `dorsetctl config`: prints every setting with its value and source (the token masked).
int RunConfigCommand(int argc, char** argv);

}  // namespace dorset::cli

#endif  // DORSET_CLI_CLIENT_SETTINGS_H_
