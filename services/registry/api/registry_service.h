// The registry's API edge (dorset.registry.v1.RegistryService): each unary handler admits the
// caller and runs the domain (domain/registry_domain.h) through runtime::Unary, which maps the
// status; WatchChanges and ImportFile start their stream reactors (api/watch_reactor.h,
// api/import_reactor.h). No rule lives here. GetPractice and ListPractices are raw methods
// served from a response cache (runtime/server/cached_unary.h) at the registry cache's
// generation, which every commit of this replica bumps before it is acknowledged and the change
// follower bumps for other replicas' commits (registry_cache.h).
#ifndef DORSET_SERVICES_REGISTRY_API_REGISTRY_SERVICE_H_
#define DORSET_SERVICES_REGISTRY_API_REGISTRY_SERVICE_H_

#include <atomic>
#include <memory>
#include <vector>

#include "dorset/registry/v1/registry.grpc.pb.h"
#include "runtime/api/page_token.h"
#include "runtime/cache/versioned_response_cache.h"
#include "runtime/server/call_gate.h"
#include "services/registry/api/import_reactor.h"
#include "services/registry/change_hub.h"
#include "services/registry/domain/commit_effects.h"
#include "services/registry/domain/registry_domain.h"
#include "services/registry/registry_cache.h"
#include "services/registry/storage/store.h"

namespace dorset::registry {

// Replies kept per generation: pages of 50 practices are ~20 KiB, so thousands of them.
inline constexpr size_t kReplyCacheBytes = 64 << 20;

class RegistryServiceImpl final : public v1::RegistryService::WithRawCallbackMethod_GetPractice<
                                      v1::RegistryService::WithRawCallbackMethod_ListPractices<
                                          v1::RegistryService::CallbackService>> {
 public:
  RegistryServiceImpl(runtime::CallGate& gate, Store& store, RegistryCache& cache, ChangeHub& hub,
                      runtime::PageTokenCodec tokens, prometheus::Registry* metrics = nullptr,
                      size_t reply_cache_bytes = kReplyCacheBytes);

  grpc::ServerUnaryReactor* GetPractice(grpc::CallbackServerContext* context,
                                        const grpc::ByteBuffer* request,
                                        grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* ListPractices(grpc::CallbackServerContext* context,
                                          const grpc::ByteBuffer* request,
                                          grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* CreatePractice(grpc::CallbackServerContext* context,
                                           const v1::CreatePracticeRequest* request,
                                           v1::Practice* response) override;
  grpc::ServerUnaryReactor* UpdatePractice(grpc::CallbackServerContext* context,
                                           const v1::UpdatePracticeRequest* request,
                                           v1::Practice* response) override;
  grpc::ServerUnaryReactor* ClosePractice(grpc::CallbackServerContext* context,
                                          const v1::ClosePracticeRequest* request,
                                          v1::Practice* response) override;
  grpc::ServerUnaryReactor* ListPracticeRevisions(
      grpc::CallbackServerContext* context, const v1::ListPracticeRevisionsRequest* request,
      v1::ListPracticeRevisionsResponse* response) override;
  grpc::ServerUnaryReactor* GetLocality(grpc::CallbackServerContext* context,
                                        const v1::GetLocalityRequest* request,
                                        v1::Locality* response) override;
  grpc::ServerUnaryReactor* ListLocalities(grpc::CallbackServerContext* context,
                                           const v1::ListLocalitiesRequest* request,
                                           v1::ListLocalitiesResponse* response) override;
  grpc::ServerUnaryReactor* GetCluster(grpc::CallbackServerContext* context,
                                       const v1::GetClusterRequest* request,
                                       v1::Cluster* response) override;
  grpc::ServerUnaryReactor* ListClusters(grpc::CallbackServerContext* context,
                                         const v1::ListClustersRequest* request,
                                         v1::ListClustersResponse* response) override;
  grpc::ServerUnaryReactor* GetAreaSummary(grpc::CallbackServerContext* context,
                                           const v1::GetAreaSummaryRequest* request,
                                           v1::AreaSummary* response) override;
  grpc::ServerUnaryReactor* ListChanges(grpc::CallbackServerContext* context,
                                        const v1::ListChangesRequest* request,
                                        v1::ListChangesResponse* response) override;
  grpc::ServerWriteReactor<v1::Change>* WatchChanges(
      grpc::CallbackServerContext* context, const v1::WatchChangesRequest* request) override;
  grpc::ServerReadReactor<v1::ImportFileRequest>* ImportFile(grpc::CallbackServerContext* context,
                                                             v1::ImportReport* response) override;

 private:
  runtime::CallGate& gate_;
  Store& store_;
  RegistryCache& cache_;
  runtime::VersionedResponseCache replies_;
  ChangeHub& hub_;
  CommitEffects effects_;
  RegistryDomain domain_;
  std::atomic<int> imports_running_{0};
  const ImportContext imports_;
};

}  // namespace dorset::registry

#endif  // DORSET_SERVICES_REGISTRY_API_REGISTRY_SERVICE_H_
