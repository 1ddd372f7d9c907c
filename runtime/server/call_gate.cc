#include "runtime/server/call_gate.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/security/auth_context.h"
#include "grpcpp/server_context.h"
#include "runtime/server/call_registry.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"

namespace dorset::runtime {
namespace {

// The principal as it appears in a shared rate-limit key: a digest, not the name.
std::string PrincipalDigest(const std::string& principal) {
  return Sha256Hex(absl::StrCat("dorset-rate-limit:", principal)).substr(0, 24);
}
constexpr char kBearer[] = "Bearer ";

// Validate() has refused a configuration whose principal_rate_limits do not parse.
std::map<std::string, RateLimit> OwnLimits(const ServerConfig& config) {
  absl::StatusOr<std::map<std::string, RateLimit>> limits =
      ParsePrincipalRateLimits(config.principal_rate_limits);
  return limits.ok() ? *std::move(limits) : std::map<std::string, RateLimit>{};
}
}  // namespace

CallGate::CallGate(const ServerConfig& config, std::unique_ptr<TokenStore> tokens)
    : auth_mode_(config.auth),
      open_health_(config.open_health),
      mutual_tls_(!config.tls_client_ca.empty()),
      default_limit_{config.rate_limit_per_second, config.rate_limit_burst},
      own_limits_(OwnLimits(config)),
      tokens_(std::move(tokens)) {}

absl::StatusOr<Caller> CallGate::Admit(const grpc::ServerContextBase& context) {
  std::shared_ptr<CallInfo> info = FindCall(&context);
  if (info == nullptr) return Internal("call was not registered by the host's handler wrapper");
  const std::optional<Permission> required = RequiredPermission(info->method());
  if (!required.has_value()) {
    return PermissionDenied(
        absl::StrCat("(none: ", info->method(), " is not in the permission table)"));
  }
  std::string principal;
  absl::StatusOr<Caller> caller = Admit(context, *required, &principal);
  info->set_principal(std::move(principal));
  if (!caller.ok()) return caller.status();
  caller->request_id = info->request_id();
  caller->personal_data_read = info->personal_data_read();
  return caller;
}

absl::StatusOr<Caller> CallGate::Admit(const grpc::ServerContextBase& context, Permission required,
                                       std::string* principal) {
  std::string authorization;
  const auto& metadata = context.client_metadata();
  if (auto it = metadata.find("authorization"); it != metadata.end()) {
    authorization.assign(it->second.data(), it->second.size());
  }
  std::string certificate_name;
  if (mutual_tls_) {
    if (auto auth = context.auth_context(); auth != nullptr) {
      for (const auto& value : auth->FindPropertyValues("x509_common_name")) {
        certificate_name.assign(value.data(), value.size());
      }
    }
  }
  return DecideFor(required, authorization, certificate_name, principal);
}

absl::StatusOr<Caller> CallGate::Decide(const std::string& method, const std::string& authorization,
                                        const std::string& certificate_name,
                                        std::string* principal_out) {
  const std::optional<Permission> required = RequiredPermission(method);
  if (!required.has_value()) {
    return PermissionDenied(absl::StrCat("(none: ", method, " is not in the permission table)"));
  }
  return DecideFor(*required, authorization, certificate_name, principal_out);
}

absl::StatusOr<Caller> CallGate::DecideFor(Permission required, const std::string& authorization,
                                           const std::string& certificate_name,
                                           std::string* principal_out) {
  Caller caller;
  if (required == Permission::kPublic && open_health_) {
    caller.principal = "anonymous";
    if (principal_out != nullptr) *principal_out = caller.principal;
    return caller;
  }
  if (auth_mode_ == AuthMode::kNone) {
    // Development only (the configuration insists it is asked for explicitly).
    caller.principal = "anonymous";
    caller.roles = {"admin"};
  } else if (!certificate_name.empty() && tokens_ != nullptr &&
             tokens_->FindCertificate(certificate_name).ok()) {
    ASSIGN_OR_RETURN(Identity identity, tokens_->FindCertificate(certificate_name));
    caller.principal = identity.principal;
    caller.roles = std::move(identity.roles);
  } else if (!authorization.empty()) {
    if (!absl::StartsWith(authorization, kBearer)) {
      return Unauthenticated("authorization metadata must be \"Bearer <token>\"");
    }
    if (tokens_ == nullptr) return Unauthenticated("bearer tokens are not configured here");
    ASSIGN_OR_RETURN(Identity identity,
                     tokens_->FindToken(std::string_view(authorization).substr(strlen(kBearer))));
    caller.principal = identity.principal;
    caller.roles = std::move(identity.roles);
  } else if (!certificate_name.empty()) {
    return Unauthenticated(
        absl::StrCat("client certificate \"", certificate_name, "\" is not registered"));
  } else {
    return Unauthenticated("no credentials: send \"authorization: Bearer <token>\"");
  }
  if (principal_out != nullptr) *principal_out = caller.principal;
  if (!caller.Can(required)) return PermissionDenied(PermissionName(required));
  RETURN_IF_ERROR(TakeRateToken(caller.principal));
  return caller;
}

absl::Status CallGate::TakeRateToken(const std::string& principal) {
  const auto own = own_limits_.find(principal);
  const RateLimit& limit = own == own_limits_.end() ? default_limit_ : own->second;
  if (limit.per_second <= 0) return absl::OkStatus();
  const absl::Time now = absl::Now();
  if (shared_ != nullptr) {
    // One sliding one-second window per principal over every replica (Cache::AdmitInWindow):
    // at most per_second calls in ANY second, also across a second's boundary.
    const std::string key =
        absl::StrCat("dorset:v1:ratelimit:", service_, ":", PrincipalDigest(principal));
    if (std::optional<Cache::Admission> admission =
            shared_->AdmitInWindow(key, limit.per_second, absl::Seconds(1))) {
      if (admission->admitted) return absl::OkStatus();
      return ResourceExhausted(absl::StrCat("rate limit of ", limit.per_second,
                                            " calls per second for ", principal, " exceeded"),
                               admission->retry_after);
    }
    // Redis cannot be reached: this replica's own bucket, below.
  }
  absl::MutexLock lock(&mu_);
  auto [it, inserted] =
      buckets_.try_emplace(principal, Bucket{static_cast<double>(limit.burst), now});
  Bucket& bucket = it->second;
  // Token counts are call budgets, not money: a double is the right tool here.
  bucket.tokens = std::min<double>(
      limit.burst, bucket.tokens + absl::ToDoubleSeconds(now - bucket.refilled) * limit.per_second);
  bucket.refilled = now;
  if (bucket.tokens < 1.0) {
    const absl::Duration wait = absl::Seconds((1.0 - bucket.tokens) / limit.per_second);
    return ResourceExhausted(absl::StrCat("rate limit of ", limit.per_second,
                                          " calls per second for ", principal, " exceeded"),
                             wait);
  }
  bucket.tokens -= 1.0;
  return absl::OkStatus();
}

}  // namespace dorset::runtime
