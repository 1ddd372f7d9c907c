// What the engagement service asks the registry: does a locality exist, what a practice is
// (its locality, commissioner and opening dates), and how many patients are registered in a
// locality. The real implementation speaks to the registry service through its client library,
// which applies the system's cache policy (docs/cache-keys.md): shared Redis keys, bounded
// local copies, one in-flight call per key, and stale copies marked as such when the registry
// cannot be reached.
#ifndef DORSET_SERVICES_ENGAGEMENT_DOMAIN_REGISTRY_LOOKUP_H_
#define DORSET_SERVICES_ENGAGEMENT_DOMAIN_REGISTRY_LOOKUP_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "runtime/cache/cache.h"
#include "runtime/config/config.h"

namespace dorset::engagement {

// A practice as the engagement service needs it.
struct PracticeFacts {
  std::string locality;      // localities/{id}; "" when not mapped
  std::string commissioner;  // e.g. "11J"
  std::string status;        // ACTIVE, CLOSED, DORMANT, PROPOSED
  std::string open_date;     // YYYY-MM-DD; "" when unknown
  std::string close_date;    // YYYY-MM-DD; "" while open
};

// A figure computed from registry data, and how current it is (docs/cache-keys.md).
struct RegistryFigure {
  int64_t value = 0;
  bool stale = false;  // a copy kept while the registry could not be reached
  absl::Time as_of = absl::InfinitePast();
};

class RegistryLookup {
 public:
  virtual ~RegistryLookup() = default;
  // OK when `locality` (localities/{id}) exists; NOT_FOUND when it does not.
  virtual absl::Status CheckLocality(const std::string& locality) = 0;
  // The practice `practice` (practices/{code}); NOT_FOUND when the practice is unknown.
  virtual absl::StatusOr<PracticeFacts> Practice(const std::string& practice) = 0;
  // Registered patients at `locality`'s open practices.
  virtual absl::StatusOr<RegistryFigure> LocalityRegisteredPatients(
      const std::string& locality) = 0;
  // Why the registry cannot be reached now, or nullopt when it can (for /readyz).
  virtual std::optional<std::string> DownReason() { return std::nullopt; }
};

// The registry client configured by `config` (registry_target, registry_tls_ca,
// service_token_file) reading `cache` first, or nullptr when no registry_target is set. `clock`
// ages its local copies (the service's clock, so tests can move it).
absl::StatusOr<std::unique_ptr<RegistryLookup>> RegistryClientLookup(
    const runtime::ServerConfig& config, runtime::Cache& cache,
    std::function<absl::Time()> clock = absl::Now);

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_DOMAIN_REGISTRY_LOOKUP_H_
