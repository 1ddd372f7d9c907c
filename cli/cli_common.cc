#include "cli/cli_common.h"

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "runtime/server/call_registry.h"
#include "runtime/status/grpc_status.h"

namespace dorset::cli {

Args::Args(int argc, char** argv, int first) {
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) == 0) {
      const size_t eq = arg.find('=');
      if (eq == std::string::npos) {
        options_[arg.substr(2)] = "true";
      } else {
        options_[arg.substr(2, eq - 2)] = arg.substr(eq + 1);
      }
    } else {
      positional_.push_back(arg);
    }
  }
}

std::optional<std::string> Args::Get(const std::string& name) const {
  auto it = options_.find(name);
  if (it == options_.end()) return std::nullopt;
  return it->second;
}

std::string Args::GetOr(const std::string& name, const std::string& fallback) const {
  return Get(name).value_or(fallback);
}

namespace {
std::optional<std::string> Env(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}
}  // namespace

absl::StatusOr<Connection> Connect(const Args& args, const std::string& service,
                                   const std::string& default_target) {
  return ConnectTarget(args,
                       args.Get("target").value_or(
                           Env(absl::StrCat("DORSET_", absl::AsciiStrToUpper(service), "_TARGET"))
                               .value_or(default_target)));
}

absl::StatusOr<Connection> ConnectTarget(const Args& args, const std::string& target) {
  Connection connection;
  connection.token = args.Get("token").value_or(Env("DORSET_TOKEN").value_or(""));
  const std::optional<std::string> ca =
      args.Get("tls_ca").has_value() ? args.Get("tls_ca") : Env("DORSET_TLS_CA");
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (ca.has_value()) {
    std::ifstream in(*ca);
    if (!in) return absl::InvalidArgumentError(absl::StrCat("tls_ca: cannot read ", *ca));
    std::stringstream pem;
    pem << in.rdbuf();
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = pem.str();
    credentials = grpc::SslCredentials(options);
  } else {
    credentials = grpc::InsecureChannelCredentials();
  }
  connection.channel = grpc::CreateChannel(target, credentials);
  return connection;
}

std::unique_ptr<grpc::ClientContext> NewContext(const Connection& connection,
                                                int deadline_seconds) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(deadline_seconds));
  if (!connection.token.empty()) {
    context->AddMetadata("authorization", absl::StrCat("Bearer ", connection.token));
  }
  context->AddMetadata("x-request-id", runtime::NewRequestId());
  return context;
}

int ReportError(const grpc::Status& status) {
  std::cerr << "error: "
            << absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code())) << ": "
            << status.error_message() << "\n";
  const google::rpc::Status details = runtime::DecodeDetails(status);
  for (const auto& any : details.details()) {
    google::rpc::BadRequest bad_request;
    google::rpc::RetryInfo retry;
    if (any.UnpackTo(&bad_request)) {
      for (const auto& v : bad_request.field_violations()) {
        std::cerr << "  field " << v.field() << ": " << v.description() << "\n";
      }
    } else if (any.UnpackTo(&retry)) {
      std::cerr << "  retry after " << retry.retry_delay().seconds() << "."
                << retry.retry_delay().nanos() / 1000000 << " s\n";
    }
  }
  return 1;
}

}  // namespace dorset::cli
