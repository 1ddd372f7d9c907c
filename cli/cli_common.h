// What every dorsetctl command shares: how to reach a service (target, TLS, bearer token),
// argument parsing (including enum values), JSON output, and printing errors with their
// google.rpc details.
#ifndef DORSET_CLI_CLI_COMMON_H_
#define DORSET_CLI_CLI_COMMON_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/generated_enum_reflection.h"
#include "google/protobuf/message.h"
#include "grpcpp/grpcpp.h"
#include "runtime/client/service_client.h"

namespace dorset::cli {

// Parsed "--name=value" options and positional arguments of one command.
class Args {
 public:
  Args(int argc, char** argv, int first);
  std::optional<std::string> Get(const std::string& name) const;
  std::string GetOr(const std::string& name, const std::string& fallback) const;
  bool Has(const std::string& name) const { return options_.count(name) > 0; }
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::string> options_;
  std::vector<std::string> positional_;
};

// A channel to one service and the bearer token to send. Where the service is, the token and
// the TLS files are dorsetctl's own settings (client_settings.h: flag > DORSETCTL_* variable >
// config file > default); TLS when tls_ca is set.
struct Connection {
  std::shared_ptr<grpc::Channel> channel;
  std::string token;
};
// `service` is "registry", "finance" or "engagement" (--target counts as its address).
// `default_target` is kept for callers; the defaults live in client_settings.cc.
absl::StatusOr<Connection> Connect(const Args& args, const std::string& service,
                                   const std::string& default_target = "");
// The same with an explicit target (token and TLS still from the settings).
absl::StatusOr<Connection> ConnectTarget(const Args& args, const std::string& target);

// Parses the value of option --`option` as a value of enum `type`: case-insensitive, with or
// without the type's prefix and with '-' for '_' ("online", "ONLINE", "channel_online" and
// "CHANNEL_ONLINE" are all ONLINE, and would be CHANNEL_ONLINE if the proto named it so).
// The *_UNSPECIFIED value is refused. On error the message names the valid values.
absl::StatusOr<int> ParseEnumValue(const google::protobuf::EnumDescriptor& type,
                                   std::string_view option, std::string_view text);
template <typename Enum>
absl::StatusOr<Enum> ParseEnum(std::string_view option, std::string_view text) {
  absl::StatusOr<int> v =
      ParseEnumValue(*google::protobuf::GetEnumDescriptor<Enum>(), option, text);
  if (!v.ok()) return v.status();
  return static_cast<Enum>(*v);
}

// Prints a usage error's message on stderr.
void PrintUsageError(const absl::Status& status);

// The --`option` flag, when given, parsed into *out with ParseEnum; on a wrong value prints
// the reason (naming the valid values) and returns false (the caller exits 2). *out is left as
// it is when the flag is absent.
template <typename Enum>
bool EnumFlag(const Args& args, const std::string& option, Enum* out) {
  const std::optional<std::string> text = args.Get(option);
  if (!text) return true;
  absl::StatusOr<Enum> parsed = ParseEnum<Enum>(option, *text);
  if (!parsed.ok()) {
    PrintUsageError(parsed.status());
    return false;
  }
  *out = *parsed;
  return true;
}

// Protobuf's canonical JSON (lowerCamelCase field names, enum names), the one JSON dorsetctl
// prints in every command group; `pretty` spreads it over lines, otherwise one line.
std::string ToJson(const google::protobuf::Message& message, bool pretty = false);

// The client libraries' options for `connection`: its token (the channel is passed apart).
runtime::ServiceClientOptions ClientOptionsOf(const Connection& connection);
// Per-call options with a longer deadline than the default 30 s (exports, imports).
runtime::CallOptions WithDeadline(absl::Duration deadline);

// A client context with a deadline, the bearer token and a fresh x-request-id.
std::unique_ptr<grpc::ClientContext> NewContext(const Connection& connection,
                                                int deadline_seconds = 30);

// Prints "error: CODE: message" plus field violations and other details; returns the exit code.
int ReportError(const grpc::Status& status);
// The same for a status from a client library (its google.rpc details kept as payloads).
int ReportError(const absl::Status& status);
// A client library's status back in wire form, its payloads as google.rpc details (and no
// ErrorInfo added, unlike runtime::ToGrpcStatus), so ReportError prints what the server sent.
grpc::Status ToWireStatus(const absl::Status& status);

// A command group ("registry", "finance", ...): run with argv after the group name.
struct CommandGroup {
  std::string name;
  std::string summary;
  int (*run)(int argc, char** argv);  // argv[0] is the command name
};

}  // namespace dorset::cli

#endif  // DORSET_CLI_CLI_COMMON_H_
