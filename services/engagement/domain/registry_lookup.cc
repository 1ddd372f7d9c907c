#include "services/engagement/domain/registry_lookup.h"

#include <utility>

#include "runtime/api/enum_names.h"
#include "runtime/status/status_macros.h"
#include "services/registry/client/registry_client.h"

namespace dorset::engagement {
namespace {

class ClientLookup final : public RegistryLookup {
 public:
  explicit ClientLookup(std::unique_ptr<registry::RegistryClient> client)
      : client_(std::move(client)) {}

  absl::Status CheckLocality(const std::string& locality) override {
    return client_->GetLocality(locality).status();
  }

  absl::StatusOr<PracticeFacts> Practice(const std::string& practice) override {
    ASSIGN_OR_RETURN(registry::v1::Practice p, client_->GetPractice(practice));
    PracticeFacts facts;
    facts.locality = p.locality();
    facts.commissioner = p.commissioner();
    facts.status = runtime::EnumShortName(p.status());
    facts.open_date = p.open_date();
    facts.close_date = p.close_date();
    return facts;
  }

  absl::StatusOr<RegistryFigure> LocalityRegisteredPatients(const std::string& locality) override {
    registry::Freshness freshness;
    ASSIGN_OR_RETURN(registry::v1::Locality l, client_->GetLocality(locality, &freshness));
    // Patients registered at the locality's practices that are open today.
    return RegistryFigure{l.active_registered_patients(), freshness.stale, freshness.as_of};
  }

  std::optional<std::string> DownReason() override {
    registry::RegistryHealth health = client_->Health();
    if (health.up) return std::nullopt;
    return health.detail;
  }

 private:
  std::unique_ptr<registry::RegistryClient> client_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<RegistryLookup>> RegistryClientLookup(
    const runtime::ServerConfig& config, runtime::Cache& cache, std::function<absl::Time()> clock) {
  if (config.registry_target.empty()) return std::unique_ptr<RegistryLookup>();
  ASSIGN_OR_RETURN(registry::RegistryClientOptions options,
                   registry::RegistryClient::OptionsFromConfig(config, cache));
  options.clock = std::move(clock);
  ASSIGN_OR_RETURN(auto client, registry::RegistryClient::Create(std::move(options)));
  return std::unique_ptr<RegistryLookup>(std::make_unique<ClientLookup>(std::move(client)));
}

}  // namespace dorset::engagement
