#include "cli/cli_common.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cli/client_settings.h"
#include "google/protobuf/util/json_util.h"
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

absl::StatusOr<std::string> ReadPem(const std::string& option, const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(option, ": cannot read ", path));
  std::stringstream pem;
  pem << in.rdbuf();
  return pem.str();
}

// UpperCamelCase -> UPPER_SNAKE ("ActivityState" -> "ACTIVITY_STATE").
std::string UpperSnake(std::string_view camel) {
  std::string out;
  for (size_t i = 0; i < camel.size(); ++i) {
    if (i > 0 && absl::ascii_isupper(camel[i]) && !absl::ascii_isupper(camel[i - 1])) {
      out.push_back('_');
    }
    out.push_back(absl::ascii_toupper(camel[i]));
  }
  return out;
}

}  // namespace

absl::StatusOr<Connection> Connect(const Args& args, const std::string& service,
                                   const std::string& default_target) {
  ASSIGN_OR_RETURN(ClientSettings settings, ClientSettings::Load(args));
  ClientSettings::Value target = settings.Target(service, /*own_group=*/true);
  if (target.value.empty()) target.value = default_target;
  return ConnectTarget(args, target.value);
}

absl::StatusOr<Connection> ConnectTarget(const Args& args, const std::string& target) {
  ASSIGN_OR_RETURN(ClientSettings settings, ClientSettings::Load(args));
  const auto get = [&settings](const std::string& key) -> std::optional<std::string> {
    std::optional<ClientSettings::Value> v = settings.Get(key);
    if (!v) return std::nullopt;
    return v->value;
  };
  Connection connection;
  connection.token = get("token").value_or("");
  const std::optional<std::string> ca = get("tls_ca");
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (ca.has_value()) {
    grpc::SslCredentialsOptions options;
    ASSIGN_OR_RETURN(options.pem_root_certs, ReadPem("tls_ca", *ca));
    // Mutual TLS: client_cert/client_key identify the caller.
    const std::optional<std::string> cert = get("client_cert");
    const std::optional<std::string> key = get("client_key");
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

absl::StatusOr<int> ParseEnumValue(const google::protobuf::EnumDescriptor& type,
                                   std::string_view option, std::string_view text) {
  // Prefixes a value may be written with or without: the type's name, the containing
  // message's name with it, and whatever the zero value puts before UNSPECIFIED.
  std::vector<std::string> prefixes = {UpperSnake(type.name()) + "_"};
  if (type.containing_type() != nullptr) {
    prefixes.push_back(
        absl::StrCat(UpperSnake(type.containing_type()->name()), "_", prefixes.front()));
  }
  const google::protobuf::EnumValueDescriptor* zero = type.FindValueByNumber(0);
  if (zero != nullptr && absl::EndsWith(zero->name(), "UNSPECIFIED")) {
    prefixes.push_back(zero->name().substr(0, zero->name().size() - 11));
  }
  const auto strip = [&prefixes](std::string name) {
    size_t longest = 0;
    for (const std::string& p : prefixes) {
      if (!p.empty() && name.size() > p.size() && name.rfind(p, 0) == 0) {
        longest = std::max(longest, p.size());
      }
    }
    return name.substr(longest);
  };
  std::string wanted = absl::AsciiStrToUpper(absl::string_view(text.data(), text.size()));
  std::replace(wanted.begin(), wanted.end(), '-', '_');
  const google::protobuf::EnumValueDescriptor* found = type.FindValueByName(wanted);
  if (found == nullptr) {
    for (int i = 0; i < type.value_count() && found == nullptr; ++i) {
      if (strip(type.value(i)->name()) == strip(wanted)) found = type.value(i);
    }
  }
  if (found != nullptr && found != zero) return found->number();
  std::string valid;
  for (int i = 0; i < type.value_count(); ++i) {
    if (type.value(i) == zero) continue;
    absl::StrAppend(&valid, valid.empty() ? "" : ", ",
                    absl::AsciiStrToLower(strip(type.value(i)->name())));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--", absl::string_view(option.data(), option.size()), ": unknown value \"",
                   absl::string_view(text.data(), text.size()), "\"; valid values: ", valid,
                   " (any case; the ", prefixes.front(), " prefix is optional)"));
}

void PrintUsageError(const absl::Status& status) {
  std::cerr << "error: " << status.message() << "\n";
}

std::string ToJson(const google::protobuf::Message& message, bool pretty) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = pretty;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
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

runtime::ServiceClientOptions ClientOptionsOf(const Connection& connection) {
  runtime::ServiceClientOptions options;
  options.bearer_token = connection.token;
  return options;
}

runtime::CallOptions WithDeadline(absl::Duration deadline) {
  runtime::CallOptions call;
  call.deadline = deadline;
  return call;
}

grpc::Status ToWireStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  google::rpc::Status details;
  details.set_code(static_cast<int>(status.code()));
  details.set_message(std::string(status.message()));
  status.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
    auto* any = details.add_details();
    any->set_type_url(std::string(url));
    any->set_value(std::string(payload));
  });
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()),
                      details.SerializeAsString());
}

int ReportError(const absl::Status& status) { return ReportError(ToWireStatus(status)); }

int ReportError(const grpc::Status& status) {
  std::cerr << "error: "
            << absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code())) << ": "
            << status.error_message() << "\n";
  const google::rpc::Status details = runtime::DecodeDetails(status);
  for (const auto& any : details.details()) {
    google::rpc::BadRequest bad_request;
    google::rpc::RetryInfo retry;
    google::rpc::PreconditionFailure precondition;
    if (any.UnpackTo(&bad_request)) {
      for (const auto& v : bad_request.field_violations()) {
        std::cerr << "  field " << v.field() << ": " << v.description() << "\n";
      }
    } else if (any.UnpackTo(&precondition)) {
      // e.g. "  precondition PERIOD financialYears/2020-21/periods/1: ..." (what to fix first).
      for (const auto& v : precondition.violations()) {
        std::cerr << "  precondition " << v.type() << " " << v.subject() << ": " << v.description()
                  << "\n";
      }
    } else if (any.UnpackTo(&retry)) {
      std::cerr << "  retry after " << retry.retry_delay().seconds() << "."
                << retry.retry_delay().nanos() / 1000000 << " s\n";
    }
  }
  return 1;
}

}  // namespace dorset::cli
