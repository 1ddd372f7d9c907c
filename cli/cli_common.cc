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
#include "runtime/status/status_macros.h"

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

absl::StatusOr<std::string> ReadPem(const std::string& option, const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(option, ": cannot read ", path));
  std::stringstream pem;
  pem << in.rdbuf();
  return pem.str();
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
    grpc::SslCredentialsOptions options;
    ASSIGN_OR_RETURN(options.pem_root_certs, ReadPem("tls_ca", *ca));
    // Mutual TLS: --client_cert/--client_key (or DORSET_CLIENT_CERT/KEY) identify the caller.
    const auto cert =
        args.Get("client_cert").has_value() ? args.Get("client_cert") : Env("DORSET_CLIENT_CERT");
    const auto key =
        args.Get("client_key").has_value() ? args.Get("client_key") : Env("DORSET_CLIENT_KEY");
    if (cert.has_value() != key.has_value()) {
      return absl::InvalidArgumentError("client_cert and client_key must be given together");
    }
    if (cert.has_value()) {
      ASSIGN_OR_RETURN(options.pem_cert_chain, ReadPem("client_cert", *cert));
      ASSIGN_OR_RETURN(options.pem_private_key, ReadPem("client_key", *key));
    }
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
