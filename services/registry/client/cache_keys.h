// The registry's Redis key schema (version 1), shared by the registry server (the only writer)
// and every reader. Values are the protobuf JSON mapping of dorset.registry.v1 messages, so
// tools outside this code base can read them. Documented in docs/cache-keys.md: change both
// together, and bump the version segment when a value's shape changes incompatibly.
#ifndef DORSET_SERVICES_REGISTRY_CLIENT_CACHE_KEYS_H_
#define DORSET_SERVICES_REGISTRY_CLIENT_CACHE_KEYS_H_

#include <string>
#include <string_view>

namespace dorset::registry::cache_keys {

inline constexpr std::string_view kPrefix = "dorset:v1:registry:";
// PUBLISH channel: one JSON Change (without the resource state) per committed change.
inline constexpr std::string_view kChangesChannel = "dorset:v1:registry:changes";

// Practice JSON.
inline std::string Practice(std::string_view ods_code) {
  return std::string(kPrefix) + "practice:" + std::string(ods_code);
}
// Locality JSON (with derived counts).
inline std::string Locality(std::string_view locality_id) {
  return std::string(kPrefix) + "locality:" + std::string(locality_id);
}
// ListLocalitiesResponse JSON holding every locality.
inline std::string AllLocalities() { return std::string(kPrefix) + "localities"; }
// Cluster JSON (with derived counts).
inline std::string Cluster(std::string_view cluster_id) {
  return std::string(kPrefix) + "cluster:" + std::string(cluster_id);
}
// ListClustersResponse JSON holding every cluster.
inline std::string AllClusters() { return std::string(kPrefix) + "clusters"; }
// AreaSummary JSON of a governing body (e.g. "11J").
inline std::string Summary(std::string_view governing_body_code) {
  return std::string(kPrefix) + "summary:" + std::string(governing_body_code);
}

}  // namespace dorset::registry::cache_keys

#endif  // DORSET_SERVICES_REGISTRY_CLIENT_CACHE_KEYS_H_
