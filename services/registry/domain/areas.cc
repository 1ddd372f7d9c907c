// RegistryDomain's localities, clusters, area summaries (filled into the shared cache on read)
// and the paged change feed.
#include <algorithm>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "runtime/api/page_token.h"
#include "runtime/api/request_id.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "services/registry/client/cache_keys.h"
#include "services/registry/closure_policy.h"
#include "services/registry/domain/practice_rules.h"
#include "services/registry/domain/registry_domain.h"
#include "services/registry/importer.h"
#include "services/registry/practice_fields.h"
#include "services/registry/stored_text.h"
#include "services/registry/validation.h"

namespace dorset::registry {

absl::Status RegistryDomain::GetLocality(const v1::GetLocalityRequest& request,
                                         v1::Locality* response) {
  RETURN_IF_ERROR(CheckRequestText(request));
  ASSIGN_OR_RETURN(std::string id, SlugFrom(request.name(), "localities", "name"));
  const uint64_t generation = cache_.generation();
  ASSIGN_OR_RETURN(std::vector<v1::Locality> localities, store_.Localities(""));
  for (v1::Locality& l : localities) {
    if (l.name() == request.name()) {
      cache_.FillShared(cache_keys::Locality(id), l, generation);
      *response = std::move(l);
      return absl::OkStatus();
    }
  }
  return runtime::NotFound("Locality", request.name());
}

absl::Status RegistryDomain::ListLocalities(const v1::ListLocalitiesRequest& request,
                                            v1::ListLocalitiesResponse* response) {
  RETURN_IF_ERROR(CheckRequestText(request));
  ASSIGN_OR_RETURN(int page_size,
                   runtime::EffectivePageSize(request.page_size(), kDefaultPage, kMaxPage));
  std::string cluster_id;
  if (!request.cluster().empty()) {
    ASSIGN_OR_RETURN(cluster_id, SlugFrom(request.cluster(), "clusters", "cluster"));
    ASSIGN_OR_RETURN(bool exists, store_.ClusterExists(cluster_id));
    if (!exists) return runtime::NotFound("Cluster", request.cluster());
  }
  const std::string fingerprint = absl::StrCat("ListLocalities:", cluster_id);
  std::string after;
  if (!request.page_token().empty()) {
    ASSIGN_OR_RETURN(after, tokens_.Decode(fingerprint, request.page_token()));
  }
  const uint64_t generation = cache_.generation();
  ASSIGN_OR_RETURN(std::vector<v1::Locality> localities, store_.Localities(cluster_id));
  const bool whole =
      cluster_id.empty() && after.empty() && static_cast<int>(localities.size()) <= page_size;
  for (v1::Locality& l : localities) {
    if (!after.empty() && l.name() <= after) continue;
    if (response->localities_size() == page_size) {
      response->set_next_page_token(
          tokens_.Encode(fingerprint, response->localities().rbegin()->name()));
      break;
    }
    *response->add_localities() = std::move(l);
  }
  if (whole) cache_.FillShared(cache_keys::AllLocalities(), *response, generation);
  return absl::OkStatus();
}

absl::Status RegistryDomain::GetCluster(const v1::GetClusterRequest& request,
                                        v1::Cluster* response) {
  RETURN_IF_ERROR(CheckRequestText(request));
  ASSIGN_OR_RETURN(std::string id, SlugFrom(request.name(), "clusters", "name"));
  const uint64_t generation = cache_.generation();
  ASSIGN_OR_RETURN(std::vector<v1::Cluster> clusters, store_.Clusters());
  for (v1::Cluster& c : clusters) {
    if (c.name() == request.name()) {
      cache_.FillShared(cache_keys::Cluster(id), c, generation);
      *response = std::move(c);
      return absl::OkStatus();
    }
  }
  return runtime::NotFound("Cluster", request.name());
}

absl::Status RegistryDomain::ListClusters(const v1::ListClustersRequest& request,
                                          v1::ListClustersResponse* response) {
  RETURN_IF_ERROR(CheckRequestText(request));
  ASSIGN_OR_RETURN(int page_size,
                   runtime::EffectivePageSize(request.page_size(), kDefaultPage, kMaxPage));
  const std::string fingerprint = "ListClusters";
  std::string after;
  if (!request.page_token().empty()) {
    ASSIGN_OR_RETURN(after, tokens_.Decode(fingerprint, request.page_token()));
  }
  const uint64_t generation = cache_.generation();
  ASSIGN_OR_RETURN(std::vector<v1::Cluster> clusters, store_.Clusters());
  const bool whole = after.empty() && static_cast<int>(clusters.size()) <= page_size;
  for (v1::Cluster& c : clusters) {
    if (!after.empty() && c.name() <= after) continue;
    if (response->clusters_size() == page_size) {
      response->set_next_page_token(
          tokens_.Encode(fingerprint, response->clusters().rbegin()->name()));
      break;
    }
    *response->add_clusters() = std::move(c);
  }
  if (whole) cache_.FillShared(cache_keys::AllClusters(), *response, generation);
  return absl::OkStatus();
}

absl::Status RegistryDomain::GetAreaSummary(const v1::GetAreaSummaryRequest& request,
                                            v1::AreaSummary* response) {
  RETURN_IF_ERROR(CheckRequestText(request));
  std::string code(kDorsetCommissioner);
  if (!request.name().empty()) {
    std::optional<std::string> id = IdFromName(request.name(), "governingBodies");
    if (!id || !IsOrganisationCode(*id)) {
      return runtime::InvalidArgument("name",
                                      "must be governingBodies/{ods_code}, e.g. "
                                      "governingBodies/11J");
    }
    code = *id;
  }
  const uint64_t generation = cache_.generation();
  bool found = false;
  ASSIGN_OR_RETURN(v1::AreaSummary summary, store_.Summary(code, &found));
  if (!found && code != kDorsetCommissioner) {
    return runtime::NotFound("GoverningBody", absl::StrCat("governingBodies/", code));
  }
  v1::GoverningBody* body = summary.mutable_governing_body();
  body->set_name(absl::StrCat("governingBodies/", code));
  body->set_ods_code(code);
  if (code == kDorsetCommissioner) {
    body->set_display_name("NHS Dorset");
    body->set_icb("QVV");
  } else {
    body->set_display_name(code);
  }
  cache_.FillShared(cache_keys::Summary(code), summary, generation);
  *response = std::move(summary);
  return absl::OkStatus();
}

absl::Status RegistryDomain::ListChanges(const v1::ListChangesRequest& request,
                                         v1::ListChangesResponse* response) {
  RETURN_IF_ERROR(CheckRequestText(request));
  if (request.after_sequence() < 0) {
    return runtime::InvalidArgument("after_sequence", "must not be negative");
  }
  ASSIGN_OR_RETURN(int page_size,
                   runtime::EffectivePageSize(request.page_size(), kDefaultPage, kMaxPage));
  const std::string fingerprint = absl::StrCat("ListChanges:", request.after_sequence());
  int64_t after = request.after_sequence();
  if (!request.page_token().empty()) {
    ASSIGN_OR_RETURN(std::string position, tokens_.Decode(fingerprint, request.page_token()));
    if (!absl::SimpleAtoi(position, &after)) {
      return runtime::InvalidArgument("page_token", "not a token of this query");
    }
  }
  // Latest first: every change listed below is then <= latest_sequence.
  ASSIGN_OR_RETURN(int64_t latest, store_.LatestSequence());
  ASSIGN_OR_RETURN(std::vector<v1::Change> changes, store_.ChangesAfter(after, page_size));
  for (auto& c : changes) {
    if (c.sequence() > latest) break;
    *response->add_changes() = std::move(c);
  }
  response->set_latest_sequence(latest);
  if (response->changes_size() == page_size && response->changes().rbegin()->sequence() < latest) {
    response->set_next_page_token(
        tokens_.Encode(fingerprint, absl::StrCat(response->changes().rbegin()->sequence())));
  }
  return absl::OkStatus();
}

}  // namespace dorset::registry
