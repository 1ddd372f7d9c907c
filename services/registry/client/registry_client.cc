#include "services/registry/client/registry_client.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "runtime/status/grpc_status.h"
#include "runtime/status/status_macros.h"
#include "services/registry/client/cache_json.h"
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

// Failures that say nothing about the value (the registry could not answer), after which a
// stale local copy may answer instead. NOT_FOUND and the like are answers: never papered over.
bool CouldNotAnswer(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status) ||
         absl::IsResourceExhausted(status) || absl::IsAborted(status) || absl::IsCancelled(status);
}

const char* StateName(grpc_connectivity_state state) {
  switch (state) {
    case GRPC_CHANNEL_IDLE:
      return "IDLE";
    case GRPC_CHANNEL_CONNECTING:
      return "CONNECTING";
    case GRPC_CHANNEL_READY:
      return "READY";
    case GRPC_CHANNEL_TRANSIENT_FAILURE:
      return "TRANSIENT_FAILURE";
    case GRPC_CHANNEL_SHUTDOWN:
      return "SHUTDOWN";
  }
  return "UNKNOWN";
}

}  // namespace

absl::StatusOr<std::unique_ptr<RegistryClient>> RegistryClient::Create(
    const runtime::ServerConfig& config, runtime::Cache& cache) {
  ASSIGN_OR_RETURN(RegistryClientOptions options, OptionsFromConfig(config, cache));
  return Create(std::move(options));
}

absl::StatusOr<RegistryClientOptions> RegistryClient::OptionsFromConfig(
    const runtime::ServerConfig& config, runtime::Cache& cache) {
  if (config.registry_target.empty()) {
    return absl::InvalidArgumentError("registry_target: required to reach the registry");
  }
  RegistryClientOptions options;
  options.target = config.registry_target;
  // Without Redis the service's cache is its own memory, where the registry's keys never are:
  // the client's local copies stand in for it.
  options.cache = config.redis.empty() ? nullptr : &cache;
  if (!config.registry_tls_ca.empty()) {
    ASSIGN_OR_RETURN(std::string ca, ReadFileTrimmed(config.registry_tls_ca, "registry_tls_ca"));
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ca + "\n";
    if (!config.registry_tls_cert.empty()) {  // mutual TLS: present this service's certificate
      ASSIGN_OR_RETURN(std::string cert,
                       ReadFileTrimmed(config.registry_tls_cert, "registry_tls_cert"));
      ASSIGN_OR_RETURN(std::string key,
                       ReadFileTrimmed(config.registry_tls_key, "registry_tls_key"));
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
  return options;
}

absl::StatusOr<std::unique_ptr<RegistryClient>> RegistryClient::Create(
    RegistryClientOptions options) {
  if (options.target.empty()) return absl::InvalidArgumentError("target: required");
  if (options.credentials == nullptr) options.credentials = grpc::InsecureChannelCredentials();
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
  // Reconnect within about a second of the registry coming back (gRPC's default backoff grows
  // to 120 s). Jitter (gRPC's ±20 %) still spreads the clients.
  const int min_backoff_ms = static_cast<int>(
      std::max<int64_t>(1, absl::ToInt64Milliseconds(options.min_reconnect_backoff)));
  const int max_backoff_ms = static_cast<int>(
      std::max<int64_t>(min_backoff_ms, absl::ToInt64Milliseconds(options.max_reconnect_backoff)));
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, min_backoff_ms);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, min_backoff_ms);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, max_backoff_ms);
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
      stub_(v1::RegistryService::NewStub(channel_)),
      local_(options_.local_entries, options_.clock) {
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
  RegistryClientStats stats;
  stats.cache_hits = cache_hits_.load();
  stats.cache_misses = cache_misses_.load();
  stats.rpcs = rpcs_.load();
  stats.retries = retries_.load();
  stats.local_hits = local_hits_.load();
  stats.coalesced = flights_.joined();
  stats.stale_served = stale_served_.load();
  return stats;
}

RegistryHealth RegistryClient::Health() {
  const grpc_connectivity_state state = channel_->GetState(/*try_to_connect=*/true);
  RegistryHealth health;
  switch (state) {
    case GRPC_CHANNEL_READY:
      health.up = true;
      break;
    case GRPC_CHANNEL_TRANSIENT_FAILURE:
    case GRPC_CHANNEL_SHUTDOWN:
      health.up = false;
      break;
    default:  // IDLE, CONNECTING: as good as the last call was
      health.up = !unreachable_.load();
      break;
  }
  health.detail = StateName(state);
  if (unreachable_.load() && state != GRPC_CHANNEL_READY) {
    health.detail += "; the last call could not reach it";
  }
  return health;
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
  unreachable_.store(!status.ok() && Retryable(status.error_code()));
  return runtime::FromGrpcStatus(status);
}

bool RegistryClient::ReadCache(const std::string& key, google::protobuf::Message& message) {
  if (options_.cache == nullptr) return false;
  std::optional<std::string> value = options_.cache->Get(key);
  if (value.has_value()) {
    if (cache_json::FromJson(*value, message).ok()) {  // ignores fields newer registries add
      cache_hits_.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    message.Clear();
  }
  cache_misses_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

absl::Status RegistryClient::Read(
    const std::string& local_key, const std::string& shared_key, google::protobuf::Message& out,
    const std::function<absl::Status(google::protobuf::Message&)>& fetch, Freshness* freshness) {
  Freshness ignored;
  if (freshness == nullptr) freshness = &ignored;
  // 1. The registry's keys in the shared cache: the registry keeps them current.
  bool shared_answered = false;
  if (options_.cache != nullptr && !shared_key.empty()) {
    if (ReadCache(shared_key, out)) {
      local_.Set(local_key, out.SerializeAsString(), options_.max_stale);
      *freshness = Freshness{false, options_.clock()};
      return absl::OkStatus();
    }
    shared_answered = options_.cache->Reachable();  // a real miss, not a fault
  }
  // 2. No shared cache to ask: a local copy younger than fresh_for.
  const auto fresh = [&](const std::optional<runtime::LruCache::Timed>& copy) {
    return !shared_answered && copy.has_value() &&
           options_.clock() - copy->stored < options_.fresh_for;
  };
  std::optional<runtime::LruCache::Timed> local = local_.GetWithTime(local_key);
  if (fresh(local) && out.ParseFromString(local->value)) {
    local_hits_.fetch_add(1, std::memory_order_relaxed);
    *freshness = Freshness{false, local->stored};
    return absl::OkStatus();
  }
  // 3. The registry: one call per key at a time, shared by everyone asking meanwhile.
  absl::Time obtained = absl::InfinitePast();  // set when the answer is not a new call's
  absl::StatusOr<std::string> fetched =
      flights_.Do(local_key, [&]() -> absl::StatusOr<std::string> {
        // A flight for this key may have landed between the look above and this one starting:
        // its copy answers, or every such straggler would be a second registry call.
        if (std::optional<runtime::LruCache::Timed> landed = local_.GetWithTime(local_key);
            fresh(landed)) {
          local_hits_.fetch_add(1, std::memory_order_relaxed);
          obtained = landed->stored;
          return std::move(landed->value);
        }
        std::unique_ptr<google::protobuf::Message> value(out.New());
        RETURN_IF_ERROR(fetch(*value));
        std::string bytes = value->SerializeAsString();
        // Kept until max_stale: after fresh_for it answers only when the registry cannot.
        local_.Set(local_key, bytes, options_.max_stale);
        return bytes;
      });
  if (fetched.ok() && out.ParseFromString(*fetched)) {
    *freshness = Freshness{false, obtained == absl::InfinitePast() ? options_.clock() : obtained};
    return absl::OkStatus();
  }
  // 4. The registry could not answer: a local copy younger than max_stale, marked stale.
  if (!fetched.ok() && CouldNotAnswer(fetched.status()) && local.has_value() &&
      options_.clock() - local->stored < options_.max_stale && out.ParseFromString(local->value)) {
    stale_served_.fetch_add(1, std::memory_order_relaxed);
    *freshness = Freshness{true, local->stored};
    return absl::OkStatus();
  }
  out.Clear();
  if (fetched.ok()) return absl::InternalError("registry client: unreadable registry answer");
  return fetched.status();
}

absl::StatusOr<v1::Practice> RegistryClient::GetPractice(std::string_view ods_code,
                                                         Freshness* freshness) {
  const std::string code = StripCollection(ods_code, "practices");
  v1::Practice practice;
  RETURN_IF_ERROR(Read(
      cache_keys::Practice(code), cache_keys::Practice(code), practice,
      [&](google::protobuf::Message& out) {
        v1::GetPracticeRequest request;
        request.set_name(absl::StrCat("practices/", code));
        return CallWithRetry([&](grpc::ClientContext& context) {
          return stub_->GetPractice(&context, request, static_cast<v1::Practice*>(&out));
        });
      },
      freshness));
  return practice;
}

absl::StatusOr<v1::Locality> RegistryClient::GetLocality(std::string_view locality_id,
                                                         Freshness* freshness) {
  const std::string id = StripCollection(locality_id, "localities");
  v1::Locality locality;
  RETURN_IF_ERROR(Read(
      cache_keys::Locality(id), cache_keys::Locality(id), locality,
      [&](google::protobuf::Message& out) {
        v1::GetLocalityRequest request;
        request.set_name(absl::StrCat("localities/", id));
        return CallWithRetry([&](grpc::ClientContext& context) {
          return stub_->GetLocality(&context, request, static_cast<v1::Locality*>(&out));
        });
      },
      freshness));
  return locality;
}

absl::StatusOr<std::vector<v1::Locality>> RegistryClient::ListLocalities(Freshness* freshness) {
  v1::ListLocalitiesResponse all;
  RETURN_IF_ERROR(Read(
      cache_keys::AllLocalities(), cache_keys::AllLocalities(), all,
      [&](google::protobuf::Message& out) -> absl::Status {
        auto& result = static_cast<v1::ListLocalitiesResponse&>(out);
        std::string page_token;
        do {
          v1::ListLocalitiesRequest request;
          request.set_page_size(1000);
          request.set_page_token(page_token);
          v1::ListLocalitiesResponse page;
          RETURN_IF_ERROR(CallWithRetry([&](grpc::ClientContext& context) {
            return stub_->ListLocalities(&context, request, &page);
          }));
          for (auto& l : *page.mutable_localities()) *result.add_localities() = std::move(l);
          page_token = page.next_page_token();
        } while (!page_token.empty());
        return absl::OkStatus();
      },
      freshness));
  return std::vector<v1::Locality>(all.localities().begin(), all.localities().end());
}

absl::StatusOr<v1::Cluster> RegistryClient::GetCluster(std::string_view cluster_id,
                                                       Freshness* freshness) {
  const std::string id = StripCollection(cluster_id, "clusters");
  v1::Cluster cluster;
  RETURN_IF_ERROR(Read(
      cache_keys::Cluster(id), cache_keys::Cluster(id), cluster,
      [&](google::protobuf::Message& out) {
        v1::GetClusterRequest request;
        request.set_name(absl::StrCat("clusters/", id));
        return CallWithRetry([&](grpc::ClientContext& context) {
          return stub_->GetCluster(&context, request, static_cast<v1::Cluster*>(&out));
        });
      },
      freshness));
  return cluster;
}

absl::StatusOr<std::vector<v1::Cluster>> RegistryClient::ListClusters(Freshness* freshness) {
  v1::ListClustersResponse all;
  RETURN_IF_ERROR(Read(
      cache_keys::AllClusters(), cache_keys::AllClusters(), all,
      [&](google::protobuf::Message& out) -> absl::Status {
        auto& result = static_cast<v1::ListClustersResponse&>(out);
        std::string page_token;
        do {
          v1::ListClustersRequest request;
          request.set_page_size(1000);
          request.set_page_token(page_token);
          v1::ListClustersResponse page;
          RETURN_IF_ERROR(CallWithRetry([&](grpc::ClientContext& context) {
            return stub_->ListClusters(&context, request, &page);
          }));
          for (auto& c : *page.mutable_clusters()) *result.add_clusters() = std::move(c);
          page_token = page.next_page_token();
        } while (!page_token.empty());
        return absl::OkStatus();
      },
      freshness));
  return std::vector<v1::Cluster>(all.clusters().begin(), all.clusters().end());
}

absl::StatusOr<v1::AreaSummary> RegistryClient::GetAreaSummary(std::string_view governing_body,
                                                               Freshness* freshness) {
  const std::string code = StripCollection(governing_body, "governingBodies");
  v1::AreaSummary summary;
  RETURN_IF_ERROR(Read(
      cache_keys::Summary(code), cache_keys::Summary(code), summary,
      [&](google::protobuf::Message& out) {
        v1::GetAreaSummaryRequest request;
        request.set_name(absl::StrCat("governingBodies/", code));
        return CallWithRetry([&](grpc::ClientContext& context) {
          return stub_->GetAreaSummary(&context, request, static_cast<v1::AreaSummary*>(&out));
        });
      },
      freshness));
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
