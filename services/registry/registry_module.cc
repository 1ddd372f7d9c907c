#include "services/registry/registry_module.h"

#include <cstdlib>
#include <filesystem>
#include <string_view>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "runtime/api/page_token.h"
#include "runtime/status/status_macros.h"
#include "services/registry/api/registry_service.h"
#include "services/registry/change_follower.h"
#include "services/registry/change_hub.h"
#include "services/registry/registry_cache.h"
#include "services/registry/storage/store.h"

namespace dorset::registry {
namespace {

// DORSET_REGISTRY_REPLY_CACHE=off keeps no replies (api/registry_service.h): every
// GetPractice and ListPractices does the store's work, for measuring that work (bench/
// search_bench.sh) and as a way back should the reply cache misbehave.
size_t ReplyCacheBytes() {
  const char* value = std::getenv("DORSET_REGISTRY_REPLY_CACHE");
  const bool off =
      value != nullptr && (std::string_view(value) == "off" || std::string_view(value) == "0");
  return off ? 0 : kReplyCacheBytes;
}

}  // namespace

RegistryModule::RegistryModule() = default;

// Members go in reverse order: the service, then the hub (its thread), caches, the store.
RegistryModule::~RegistryModule() = default;

absl::Status RegistryModule::Init(const runtime::ServiceEnv& env) {
  std::error_code error;
  std::filesystem::create_directories(env.config.data_dir, error);
  if (error) {
    return absl::FailedPreconditionError(
        absl::StrCat("data_dir: cannot create ", env.config.data_dir, ": ", error.message()));
  }
  ASSIGN_OR_RETURN(store_, Store::Open(env.config));
  ASSIGN_OR_RETURN(
      runtime::PageTokenCodec tokens,
      runtime::PageTokenCodec::Load(env.config.page_token_key_file, env.config.data_dir));
  cache_ = std::make_unique<RegistryCache>(
      env.cache, absl::Seconds(std::max(1, env.config.cache_ttl_seconds)));
  hub_ = std::make_unique<ChangeHub>();
  service_ = std::make_unique<RegistryServiceImpl>(
      env.gate, *store_, *cache_, *hub_, std::move(tokens), &env.metrics, ReplyCacheBytes());
  // Other replicas may share a PostgreSQL database: follow their commits.
  if (std::unique_ptr<ChangeSignal> listener = store_->ListenForChanges()) {
    follower_ = std::make_unique<ChangeFollower>(*store_, *cache_, *hub_, std::move(listener));
  }
  return absl::OkStatus();
}

std::vector<grpc::Service*> RegistryModule::Services() { return {service_.get()}; }

std::vector<std::string> RegistryModule::HealthNames() {
  return {std::string(v1::RegistryService::service_full_name())};
}

absl::Status RegistryModule::CheckStore() {
  if (store_ == nullptr) return absl::UnavailableError("store not open");
  return store_->Check();
}

void RegistryModule::OnShutdown() {
  follower_.reset();
  if (hub_ != nullptr) hub_->Shutdown();
}

int RegistryModule::watcher_count() { return hub_ == nullptr ? 0 : hub_->watcher_count(); }

}  // namespace dorset::registry
