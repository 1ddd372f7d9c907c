#include "services/finance/finance_module.h"

#include "absl/strings/str_cat.h"
#include "runtime/api/page_token.h"
#include "runtime/audit/audit_log.h"
#include "runtime/logging/log.h"
#include "runtime/status/status_macros.h"
#include "services/finance/finance_service.h"
#include "services/finance/ledger_chain.h"
#include "services/finance/storage/chain.h"
#include "services/finance/storage/periods.h"
#include "services/finance/storage/posting_committer.h"
#include "services/finance/storage/seed.h"
#include "services/finance/storage/store.h"
#include "services/registry/client/registry_client.h"

namespace dorset::finance {

FinanceModule::FinanceModule() = default;
FinanceModule::~FinanceModule() = default;

absl::Status FinanceModule::Init(const runtime::ServiceEnv& env) {
  ASSIGN_OR_RETURN(store_, FinanceStore::Open(env.config));
  // The seal key is outside the database: a file (production: a Secret), never a row.
  ASSIGN_OR_RETURN(std::string seal_key,
                   LoadSealKey(env.config.ledger_seal_key_file, env.config.data_dir));
  month_close_ = std::make_unique<MonthClose>(*store_, std::move(seal_key));
  // An unreachable database is not fatal: readiness stays NOT_SERVING and CheckStore (polled
  // every second by the host) loads the seed at the first contact, instead of a crash loop.
  if (absl::Status seeded = EnsureSeeded(); !seeded.ok() && !absl::IsUnavailable(seeded)) {
    return seeded;
  }
  ASSIGN_OR_RETURN(
      runtime::PageTokenCodec codec,
      runtime::PageTokenCodec::Load(env.config.page_token_key_file, env.config.data_dir));
  if (!env.config.registry_target.empty()) {
    ASSIGN_OR_RETURN(registry_, registry::RegistryClient::Create(env.config, env.cache));
  }
  store_->FollowOtherWriters();  // other replicas' writes (issue 16)
  // Postings' audit events are committed with the postings (one sync per group) and moved into
  // the trail by the audit writer; without an outbox they are committed after, as before.
  if (env.audit != nullptr) outbox_ = env.audit->AttachOutbox(store_->database(), "finance");
  committer_ = StartPostingCommitter(*store_, &env.metrics, 4096, outbox_.get());
  service_ = std::make_unique<FinanceServiceImpl>(env.gate, *store_, std::move(codec), *committer_,
                                                  *month_close_, registry_.get(), &env.metrics);
  return absl::OkStatus();
}

std::vector<grpc::Service*> FinanceModule::Services() { return {service_.get()}; }

std::vector<std::string> FinanceModule::HealthNames() {
  return {std::string(v1::FinanceService::service_full_name())};
}

std::vector<std::string> FinanceModule::DependenciesDown() {
  if (registry_ == nullptr) return {};
  registry::RegistryHealth health = registry_->Health();
  if (health.up) return {};
  return {absl::StrCat("registry unreachable (", health.detail, ")")};
}

absl::Status FinanceModule::EnsureSeeded() {
  if (seeded_.load()) return absl::OkStatus();
  absl::MutexLock lock(&seed_mu_);
  if (seeded_.load()) return absl::OkStatus();
  ASSIGN_OR_RETURN(bool loaded, LoadSeedOnce(*store_));
  // Postings from before the chain existed get their links now, so VerifyLedger finds them
  // linked even before the next posting (the ledger also does this before it writes).
  RETURN_IF_ERROR(store_->Write([](Transaction& tx) { return BackfillChain(tx); }));
  if (loaded) runtime::log::Info("finance seed loaded", {{"plan", std::string(kSeedPlan)}});
  seeded_.store(true);
  return absl::OkStatus();
}

absl::Status FinanceModule::CheckStore() {
  if (store_ == nullptr) return absl::UnavailableError("store not open");
  RETURN_IF_ERROR(EnsureSeeded());
  return store_->Check();
}

}  // namespace dorset::finance
