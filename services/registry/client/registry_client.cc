#include "services/registry/client/registry_client.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/util/json_util.h"
#include "runtime/status/grpc_status.h"
#include "runtime/status/status_macros.h"
#include "services/registry/client/cache_keys.h"

namespace dorset::registry {
namespace {

// "J81016" and "practices/J81016" both name practice J81016.
std::string StripCollection(std::string_view id, std::string_view collection) {
  const std::string prefix = std::string(collection) + "/";
  if (id.substr(0, prefix.size()) == prefix) id.remove_prefix(prefix.size());
  return std::string(id);
}

absl::StatusOr<std::string> ReadFileTrimmed(const std::string& path, std::string_view setting) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(std::string(setting) + ": cannot read " + path);
  std::stringstream content;
  content << in.rdbuf();
  std::string text = content.str();
  absl::StripAsciiWhitespace(&text);
  return text;
}

bool Retryable(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RegistryClient>> RegistryClient::Create(
    const runtime::ServerConfig& config, runtime::Cache& cache) {
  if (config.registry_target.empty()) {
    return absl::InvalidArgumentError("registry_target: required to reach the registry");
  }
  RegistryClientOptions options;
  options.target = config.registry_target;
  options.cache = &cache;
  if (!config.registry_tls_ca.empty()) {
    ASSIGN_OR_RETURN(std::string ca, ReadFileTrimmed(config.registry_tls_ca, "registry_tls_ca"));
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ca + "\n";
    if (!config.registry_tls_cert.empty()) {  // mutual TLS: present this service's certificate
      ASSIGN_OR_RETURN(std::string cert,
                       ReadFileTrimmed(config.registry_tls_cert, "registry_tls_cert"));
      ASSIGN_OR_RETURN(std::string key, ReadFileTrimmed(config.registry_tls_key, "registry_tls_key"));
      ssl.pem_cert_chain = cert + "\n";
      ssl.pem_private_key = key + "\n";
    }
    options.credentials = grpc::SslCredentials(ssl);
  } else {
    options.credentials = grpc::InsecureChannelCredentials();
  }
  if (!config.service_token_file.empty()) {
    ASSIGN_OR_RETURN(options.bearer_token,
                     ReadFileTrimmed(config.service_token_file, "service_token_file"));
  }
  return Create(std::move(options));
}

absl::StatusOr<std::unique_ptr<RegistryClient>> RegistryClient::Create(
    RegistryClientOptions options) {
  if (options.target.empty()) return absl::InvalidArgumentError("target: required");
  if (options.credentials == nullptr) options.credentials = grpc::InsecureChannelCredentials();
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
  auto channel = grpc::CreateCustomChannel(options.target, options.credentials, args);
  return ForChannel(std::move(channel), std::move(options));
}

std::unique_ptr<RegistryClient> RegistryClient::ForChannel(std::shared_ptr<grpc::Channel> channel,
                                                           RegistryClientOptions options) {
  return std::unique_ptr<RegistryClient>(
      new RegistryClient(std::move(channel), std::move(options)));
}

RegistryClient::RegistryClient(std::shared_ptr<grpc::Channel> channel,
                               RegistryClientOptions options)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      stub_(v1::RegistryService::NewStub(channel_)) {
  options_.max_attempts = std::max(1, options_.max_attempts);
}

std::unique_ptr<grpc::ClientContext> RegistryClient::NewContext() const {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + options_.attempt_deadline));
  if (!options_.bearer_token.empty()) {
    context->AddMetadata("authorization", absl::StrCat("Bearer ", options_.bearer_token));
  }
  return context;
}

RegistryClientStats RegistryClient::stats() const {
  return {cache_hits_.load(), cache_misses_.load(), rpcs_.load(), retries_.load()};
}

absl::Status RegistryClient::CallWithRetry(
    const std::function<grpc::Status(grpc::ClientContext&)>& call) {
  absl::Duration backoff = options_.initial_backoff;
  thread_local absl::BitGen bitgen;
  grpc::Status status;
  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    if (attempt > 1) retries_.fetch_add(1, std::memory_order_relaxed);
    rpcs_.fetch_add(1, std::memory_order_relaxed);
    std::unique_ptr<grpc::ClientContext> context = NewContext();
    status = call(*context);
    if (status.ok() || !Retryable(status.error_code())) break;
    if (attempt == options_.max_attempts) break;
    // Full jitter: sleep a random time up to the current backoff, so retrying clients spread.
    absl::SleepFor(absl::Microseconds(
        absl::Uniform<int64_t>(bitgen, 0, absl::ToInt64Microseconds(backoff) + 1)));
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
  return runtime::FromGrpcStatus(status);
}

bool RegistryClient::ReadCache(const std::string& key, google::protobuf::Message& message) {
  if (options_.cache == nullptr) return false;
  std::optional<std::string> value = options_.cache->Get(key);
  if (value.has_value()) {
    google::protobuf::util::JsonParseOptions parse;
    parse.ignore_unknown_fields = true;  // newer registries may add fields
    if (google::protobuf::util::JsonStringToMessage(*value, &message, parse).ok()) {
      cache_hits_.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    message.Clear();
  }
  cache_misses_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

absl::StatusOr<v1::Practice> RegistryClient::GetPractice(std::string_view ods_code) {
  const std::string code = StripCollection(ods_code, "practices");
  v1::Practice practice;
  if (ReadCache(cache_keys::Practice(code), practice)) return practice;
  v1::GetPracticeRequest request;
  request.set_name(absl::StrCat("practices/", code));
  RETURN_IF_ERROR(CallWithRetry([&](grpc::ClientContext& context) {
    return stub_->GetPractice(&context, request, &practice);
  }));
  return practice;
}

absl::StatusOr<v1::Locality> RegistryClient::GetLocality(std::string_view locality_id) {
  const std::string id = StripCollection(locality_id, "localities");
  v1::Locality locality;
  if (ReadCache(cache_keys::Locality(id), locality)) return locality;
  v1::GetLocalityRequest request;
  request.set_name(absl::StrCat("localities/", id));
  RETURN_IF_ERROR(CallWithRetry([&](grpc::ClientContext& context) {
    return stub_->GetLocality(&context, request, &locality);
  }));
  return locality;
}

absl::StatusOr<std::vector<v1::Locality>> RegistryClient::ListLocalities() {
  v1::ListLocalitiesResponse all;
  if (!ReadCache(cache_keys::AllLocalities(), all)) {
    std::string page_token;
    do {
      v1::ListLocalitiesRequest request;
      request.set_page_size(1000);
      request.set_page_token(page_token);
      v1::ListLocalitiesResponse page;
      RETURN_IF_ERROR(CallWithRetry([&](grpc::ClientContext& context) {
        return stub_->ListLocalities(&context, request, &page);
      }));
      for (auto& locality : *page.mutable_localities()) *all.add_localities() = std::move(locality);
      page_token = page.next_page_token();
    } while (!page_token.empty());
  }
  return std::vector<v1::Locality>(all.localities().begin(), all.localities().end());
}

absl::StatusOr<v1::Cluster> RegistryClient::GetCluster(std::string_view cluster_id) {
  const std::string id = StripCollection(cluster_id, "clusters");
  v1::Cluster cluster;
  if (ReadCache(cache_keys::Cluster(id), cluster)) return cluster;
  v1::GetClusterRequest request;
  request.set_name(absl::StrCat("clusters/", id));
  RETURN_IF_ERROR(CallWithRetry([&](grpc::ClientContext& context) {
    return stub_->GetCluster(&context, request, &cluster);
  }));
  return cluster;
}

absl::StatusOr<std::vector<v1::Cluster>> RegistryClient::ListClusters() {
  v1::ListClustersResponse all;
  if (!ReadCache(cache_keys::AllClusters(), all)) {
    std::string page_token;
    do {
      v1::ListClustersRequest request;
      request.set_page_size(1000);
      request.set_page_token(page_token);
      v1::ListClustersResponse page;
      RETURN_IF_ERROR(CallWithRetry([&](grpc::ClientContext& context) {
        return stub_->ListClusters(&context, request, &page);
      }));
      for (auto& cluster : *page.mutable_clusters()) *all.add_clusters() = std::move(cluster);
      page_token = page.next_page_token();
    } while (!page_token.empty());
  }
  return std::vector<v1::Cluster>(all.clusters().begin(), all.clusters().end());
}

absl::StatusOr<v1::AreaSummary> RegistryClient::GetAreaSummary(std::string_view governing_body) {
  const std::string code = StripCollection(governing_body, "governingBodies");
  v1::AreaSummary summary;
  if (ReadCache(cache_keys::Summary(code), summary)) return summary;
  v1::GetAreaSummaryRequest request;
  request.set_name(absl::StrCat("governingBodies/", code));
  RETURN_IF_ERROR(CallWithRetry([&](grpc::ClientContext& context) {
    return stub_->GetAreaSummary(&context, request, &summary);
  }));
  return summary;
}

absl::StatusOr<std::vector<v1::Practice>> RegistryClient::ListAllPractices(
    v1::ListPracticesRequest request) {
  std::vector<v1::Practice> practices;
  request.set_page_token("");
  if (request.page_size() == 0) request.set_page_size(1000);
  do {
    v1::ListPracticesResponse page;
    RETURN_IF_ERROR(CallWithRetry([&](grpc::ClientContext& context) {
      return stub_->ListPractices(&context, request, &page);
    }));
    for (auto& practice : *page.mutable_practices()) practices.push_back(std::move(practice));
    request.set_page_token(page.next_page_token());
  } while (!request.page_token().empty());
  return practices;
}

}  // namespace dorset::registry
