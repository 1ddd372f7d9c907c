#include "services/engagement/registry_lookup.h"

#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
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

  absl::StatusOr<std::string> PracticeLocality(const std::string& practice) override {
    ASSIGN_OR_RETURN(registry::v1::Practice p, client_->GetPractice(practice));
    return p.locality();
  }

  absl::StatusOr<int64_t> LocalityRegisteredPatients(const std::string& locality) override {
    ASSIGN_OR_RETURN(registry::v1::Locality l, client_->GetLocality(locality));
    // Patients registered at the locality's practices that are open today.
    return l.active_registered_patients();
  }

 private:
  std::unique_ptr<registry::RegistryClient> client_;
};

class Memo final : public RegistryLookup {
 public:
  Memo(std::unique_ptr<RegistryLookup> inner, absl::Duration ttl)
      : inner_(std::move(inner)), ttl_(ttl) {}

  absl::Status CheckLocality(const std::string& locality) override {
    const std::string key = absl::StrCat("l|", locality);
    if (Find(key).has_value()) return absl::OkStatus();
    RETURN_IF_ERROR(inner_->CheckLocality(locality));
    Keep(key, "");
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> PracticeLocality(const std::string& practice) override {
    const std::string key = absl::StrCat("p|", practice);
    if (auto hit = Find(key); hit.has_value()) return *hit;
    ASSIGN_OR_RETURN(std::string locality, inner_->PracticeLocality(practice));
    Keep(key, locality);
    return locality;
  }

  absl::StatusOr<int64_t> LocalityRegisteredPatients(const std::string& locality) override {
    const std::string key = absl::StrCat("n|", locality);
    if (auto hit = Find(key); hit.has_value()) return std::stoll(*hit);
    ASSIGN_OR_RETURN(int64_t patients, inner_->LocalityRegisteredPatients(locality));
    Keep(key, absl::StrCat(patients));
    return patients;
  }

 private:
  struct Entry {
    std::string value;
    absl::Time expires;
  };
  std::optional<std::string> Find(const std::string& key) {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second.expires < absl::Now()) return std::nullopt;
    return it->second.value;
  }
  void Keep(const std::string& key, std::string value) {
    absl::MutexLock lock(&mu_);
    if (entries_.size() > 100000) entries_.clear();  // bounded: registry names are few
    entries_[key] = Entry{std::move(value), absl::Now() + ttl_};
  }

  std::unique_ptr<RegistryLookup> inner_;
  const absl::Duration ttl_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<RegistryLookup> MemoizedRegistryLookup(std::unique_ptr<RegistryLookup> inner,
                                                       absl::Duration ttl) {
  return std::make_unique<Memo>(std::move(inner), ttl);
}

absl::StatusOr<std::unique_ptr<RegistryLookup>> RegistryClientLookup(
    const runtime::ServerConfig& config, runtime::Cache& cache) {
  if (config.registry_target.empty()) return std::unique_ptr<RegistryLookup>();
  ASSIGN_OR_RETURN(auto client, registry::RegistryClient::Create(config, cache));
  return std::unique_ptr<RegistryLookup>(std::make_unique<ClientLookup>(std::move(client)));
}

}  // namespace dorset::engagement
