// What the engagement service asks the registry: does a locality exist, which locality a practice
// is in, and how many patients are registered in a locality. The real implementation speaks to
// the registry service through its client library (which reads the registry's keys in the shared
// cache first); a short in-process memo on top keeps a burst of responses from costing a registry
// round trip each. The memo is local on purpose: the registry is the only writer of its cache
// keys, so nothing here can put back a value the registry has just invalidated.
#ifndef DORSET_SERVICES_ENGAGEMENT_REGISTRY_LOOKUP_H_
#define DORSET_SERVICES_ENGAGEMENT_REGISTRY_LOOKUP_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "runtime/cache/cache.h"
#include "runtime/config/config.h"

namespace dorset::engagement {

class RegistryLookup {
 public:
  virtual ~RegistryLookup() = default;
  // OK when `locality` (localities/{id}) exists; NOT_FOUND when it does not.
  virtual absl::Status CheckLocality(const std::string& locality) = 0;
  // The locality name of `practice` (practices/{code}); NOT_FOUND when the practice is unknown.
  virtual absl::StatusOr<std::string> PracticeLocality(const std::string& practice) = 0;
  // Registered patients in `locality` (sum over its practices).
  virtual absl::StatusOr<int64_t> LocalityRegisteredPatients(const std::string& locality) = 0;
};

// Remembers positive answers for `ttl` in this process (misses and errors are never kept).
std::unique_ptr<RegistryLookup> MemoizedRegistryLookup(std::unique_ptr<RegistryLookup> inner,
                                                       absl::Duration ttl);

// The registry client configured by `config` (registry_target, registry_tls_ca,
// service_token_file) reading `cache` first, or nullptr when no registry_target is set.
absl::StatusOr<std::unique_ptr<RegistryLookup>> RegistryClientLookup(
    const runtime::ServerConfig& config, runtime::Cache& cache);

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_REGISTRY_LOOKUP_H_
