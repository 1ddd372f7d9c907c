// The registry's domain, without gRPC: the rules, validation and orchestration of every unary
// method (practices, localities, clusters, area summaries, the change feed) over the storage
// interface (storage/store.h) and the caches. Proto messages in and out, absl::Status for every
// refusal; the API edge (api/registry_service.h) only admits the caller and maps the status.
// Every committed write goes through CommitEffects (caches, then watchers).
#ifndef DORSET_SERVICES_REGISTRY_DOMAIN_REGISTRY_DOMAIN_H_
#define DORSET_SERVICES_REGISTRY_DOMAIN_REGISTRY_DOMAIN_H_

#include "absl/status/status.h"
#include "dorset/registry/v1/registry.pb.h"
#include "runtime/api/page_token.h"
#include "runtime/auth/caller.h"
#include "runtime/server/serialized_reply.h"
#include "services/registry/domain/commit_effects.h"
#include "services/registry/registry_cache.h"
#include "services/registry/storage/store.h"

namespace dorset::registry {

class RegistryDomain {
 public:
  RegistryDomain(Store& store, RegistryCache& cache, CommitEffects& effects,
                 runtime::PageTokenCodec tokens);

  // Practices (domain/practices.cc). Writes record the caller as the change's actor and its
  // request_id in the idempotency record: a retry gets the stored reply.
  absl::Status GetPractice(const v1::GetPracticeRequest& request, v1::Practice* response);
  // The page's reply bytes assembled from each practice's kept bytes (storage/practice_bytes.h).
  absl::Status ListPractices(const v1::ListPracticesRequest& request,
                             runtime::SerializedReply<v1::ListPracticesResponse>* response);
  absl::Status CreatePractice(const runtime::Caller& caller,
                              const v1::CreatePracticeRequest& request, v1::Practice* response);
  absl::Status UpdatePractice(const runtime::Caller& caller,
                              const v1::UpdatePracticeRequest& request, v1::Practice* response);
  absl::Status ClosePractice(const runtime::Caller& caller, const v1::ClosePracticeRequest& request,
                             v1::Practice* response);
  absl::Status ListPracticeRevisions(const v1::ListPracticeRevisionsRequest& request,
                                     v1::ListPracticeRevisionsResponse* response);

  // Localities, clusters, area summaries and the change feed (domain/areas.cc).
  absl::Status GetLocality(const v1::GetLocalityRequest& request, v1::Locality* response);
  absl::Status ListLocalities(const v1::ListLocalitiesRequest& request,
                              v1::ListLocalitiesResponse* response);
  absl::Status GetCluster(const v1::GetClusterRequest& request, v1::Cluster* response);
  absl::Status ListClusters(const v1::ListClustersRequest& request,
                            v1::ListClustersResponse* response);
  absl::Status GetAreaSummary(const v1::GetAreaSummaryRequest& request, v1::AreaSummary* response);
  absl::Status ListChanges(const v1::ListChangesRequest& request,
                           v1::ListChangesResponse* response);

 private:
  Store& store_;
  RegistryCache& cache_;
  CommitEffects& effects_;
  const runtime::PageTokenCodec tokens_;
};

}  // namespace dorset::registry

#endif  // DORSET_SERVICES_REGISTRY_DOMAIN_REGISTRY_DOMAIN_H_
