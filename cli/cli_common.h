// What every dorsetctl command shares: how to reach a service (target, TLS, bearer token),
// argument parsing, and printing errors with their google.rpc details.
#ifndef DORSET_CLI_CLI_COMMON_H_
#define DORSET_CLI_CLI_COMMON_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"

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

// Connection settings: --target (or DORSET_<SERVICE>_TARGET), --token (or DORSET_TOKEN),
// --tls_ca (PEM; TLS when given), --plaintext.
struct Connection {
  std::shared_ptr<grpc::Channel> channel;
  std::string token;
};
absl::StatusOr<Connection> Connect(const Args& args, const std::string& service,
                                   const std::string& default_target);
// The same with an explicit target (token and TLS still from args or the environment).
absl::StatusOr<Connection> ConnectTarget(const Args& args, const std::string& target);

// A client context with a deadline, the bearer token and a fresh x-request-id.
std::unique_ptr<grpc::ClientContext> NewContext(const Connection& connection,
                                                int deadline_seconds = 30);

// Prints "error: CODE: message" plus field violations and other details; returns the exit code.
int ReportError(const grpc::Status& status);

// A command group ("registry", "finance", ...): run with argv after the group name.
struct CommandGroup {
  std::string name;
  std::string summary;
  int (*run)(int argc, char** argv);  // argv[0] is the command name
};

}  // namespace dorset::cli

#endif  // DORSET_CLI_CLI_COMMON_H_
