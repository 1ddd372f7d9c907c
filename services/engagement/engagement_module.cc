#include "services/engagement/engagement_module.h"

#include <cstdlib>
#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "runtime/api/page_token.h"
#include "runtime/api/reply_budget.h"
#include "runtime/logging/log.h"
#include "runtime/status/status_macros.h"
#include "services/engagement/api/engagement_service.h"
#include "services/engagement/domain/response_writer.h"

namespace dorset::engagement {

EngagementModule::EngagementModule(EngagementOptions options) : options_(std::move(options)) {}
EngagementModule::~EngagementModule() = default;

absl::Status EngagementModule::Init(const runtime::ServiceEnv& env) {
  options_.reply_bytes = runtime::ReplyByteBudget(env.config.max_message_bytes);
  if (const char* days = std::getenv("DORSET_ENGAGEMENT_RETENTION_DAYS");
      days != nullptr && options_.retention == absl::ZeroDuration()) {
    int64_t n = 0;
    if (!absl::SimpleAtoi(days, &n) || n < 0) {
      return absl::InvalidArgumentError(
          "DORSET_ENGAGEMENT_RETENTION_DAYS must be a whole number of days (0 = off)");
    }
    options_.retention = absl::Hours(24 * n);
  }
  // `database` (default: SQLite at <data_dir>/engagement.db) and its password file.
  ASSIGN_OR_RETURN(store_, EngagementStore::Open(env.config));
  ASSIGN_OR_RETURN(
      runtime::PageTokenCodec tokens,
      runtime::PageTokenCodec::Load(env.config.page_token_key_file, env.config.data_dir));
  ASSIGN_OR_RETURN(registry_, RegistryClientLookup(env.config, env.cache, options_.now));
  if (registry_ == nullptr) {
    runtime::log::Warn("no registry_target: localities and practices are checked for form only");
  }
  engagement_ = std::make_unique<Engagement>(*store_, registry_.get(), std::move(tokens), options_);
  // An unreachable database is not fatal: readiness stays NOT_SERVING and CheckStore (polled
  // every second by the host) writes the seed at the first contact, instead of a crash loop.
  if (absl::Status seeded = EnsureSeeded(); !seeded.ok() && !absl::IsUnavailable(seeded)) {
    return seeded;
  }
  writer_ = std::make_unique<ResponseWriter>(*engagement_, &env.metrics);
  service_ = std::make_unique<EngagementServiceImpl>(env.gate, *engagement_, *writer_);
  return absl::OkStatus();
}

std::vector<grpc::Service*> EngagementModule::Services() { return {service_.get()}; }

std::vector<std::string> EngagementModule::HealthNames() {
  return {std::string(v1::EngagementService::service_full_name())};
}

absl::Status EngagementModule::EnsureSeeded() {
  if (seeded_.load()) return absl::OkStatus();
  absl::MutexLock lock(&seed_mu_);
  if (seeded_.load()) return absl::OkStatus();
  RETURN_IF_ERROR(engagement_->SeedIfEmpty());
  seeded_.store(true);
  return absl::OkStatus();
}

absl::Status EngagementModule::CheckStore() {
  if (store_ == nullptr || engagement_ == nullptr) return absl::UnavailableError("store not open");
  RETURN_IF_ERROR(EnsureSeeded());
  return store_->Check();
}

std::vector<std::string> EngagementModule::DependenciesDown() {
  if (registry_ == nullptr) return {};
  std::optional<std::string> down = registry_->DownReason();
  if (!down.has_value()) return {};
  return {absl::StrCat("registry unreachable (", *down, ")")};
}

void EngagementModule::OnShutdown() {
  if (service_ != nullptr) service_->StopStreams();
}

}  // namespace dorset::engagement
