#include "services/engagement/engagement_module.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "runtime/api/page_token.h"
#include "runtime/api/reply_budget.h"
#include "runtime/audit/audit_log.h"
#include "runtime/logging/log.h"
#include "runtime/status/status_macros.h"
#include "services/engagement/api/engagement_service.h"
#include "services/engagement/domain/response_writer.h"

namespace dorset::engagement {

EngagementModule::EngagementModule(EngagementOptions options) : options_(std::move(options)) {}
EngagementModule::~EngagementModule() = default;

absl::Status EngagementModule::Init(const runtime::ServiceEnv& env) {
  options_.reply_bytes = runtime::ReplyByteBudget(env.config.max_message_bytes);
  // Retention from the shared settings (runtime/config), unless a test injected its own.
  if (options_.retention == absl::ZeroDuration()) {
    options_.retention = absl::Hours(24) * env.config.engagement_retention_days;
  }
  if (options_.retention_interval == absl::ZeroDuration()) {
    options_.retention_interval = absl::Seconds(env.config.engagement_retention_interval_seconds);
  }
  if (env.audit != nullptr && !options_.audit) {
    runtime::AuditLog* audit = env.audit;
    options_.audit = [audit](common::v1::AuditEvent event) { audit->Record(std::move(event)); };
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
  // Other replicas' (and processes') commits raise the store's generation (issue 16).
  store_->FollowOtherWriters();
  engagement_ = std::make_unique<Engagement>(*store_, registry_.get(), std::move(tokens), options_);
  // An unreachable database is not fatal: readiness stays NOT_SERVING and CheckStore (polled
  // every second by the host) writes the seed at the first contact, instead of a crash loop.
  if (absl::Status seeded = EnsureSeeded(); !seeded.ok() && !absl::IsUnavailable(seeded)) {
    return seeded;
  }
  // Responses' audit events are committed with the responses (one sync per group) and moved into
  // the trail by the audit writer; without an outbox they are committed after, as before.
  if (env.audit != nullptr) outbox_ = env.audit->AttachOutbox(store_->database(), "engagement");
  writer_ = std::make_unique<ResponseWriter>(*engagement_, &env.metrics, 512, outbox_.get());
  service_ = std::make_unique<EngagementServiceImpl>(env.gate, *engagement_, *writer_,
                                                     registry_ != nullptr, &env.metrics);
  if (options_.retention > absl::ZeroDuration()) {
    retention_ = std::make_unique<Retention>(*engagement_, options_.retention);
    retention_timer_ = std::make_unique<RetentionTimer>(*retention_, options_.retention_interval);
    runtime::log::Info("retention timer started",
                       {{"retention_days", absl::ToInt64Hours(options_.retention) / 24},
                        {"interval_seconds", absl::ToInt64Seconds(options_.retention_interval)}});
  }
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
  if (retention_timer_ != nullptr) retention_timer_->Stop();
  if (service_ != nullptr) service_->StopStreams();
}

}  // namespace dorset::engagement
