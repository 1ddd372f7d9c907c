// The gRPC face of the registry (dorset.registry.v1.RegistryService): request validation,
// the standard methods over the store, the change-feed stream and file imports. Every
// committed write invalidates the caches and wakes the change watchers.
#ifndef DORSET_SERVICES_REGISTRY_REGISTRY_SERVICE_H_
#define DORSET_SERVICES_REGISTRY_REGISTRY_SERVICE_H_

#include <atomic>
#include <memory>
#include <vector>

#include "dorset/registry/v1/registry.grpc.pb.h"
#include "runtime/api/page_token.h"
#include "runtime/server/call_gate.h"
#include "services/registry/change_hub.h"
#include "services/registry/importer.h"
#include "services/registry/registry_cache.h"
#include "services/registry/storage/store.h"

namespace dorset::registry {

// Largest file ImportFile accepts (the national epraccur is ~3.5 MB). The upload is spooled to
// disk, so this bounds disk use, not memory (docs/registry.md, "Imports").
inline constexpr size_t kMaxImportBytes = 64 * 1024 * 1024;
// Imports running at once; one more is refused with RESOURCE_EXHAUSTED (retry later).
inline constexpr int kMaxConcurrentImports = 2;

class RegistryServiceImpl final : public v1::RegistryService::CallbackService {
 public:
  RegistryServiceImpl(runtime::CallGate& gate, Store& store, RegistryCache& cache, ChangeHub& hub,
                      runtime::PageTokenCodec tokens);

  grpc::ServerUnaryReactor* GetPractice(grpc::CallbackServerContext* context,
                                        const v1::GetPracticeRequest* request,
                                        v1::Practice* response) override;
  grpc::ServerUnaryReactor* ListPractices(grpc::CallbackServerContext* context,
                                          const v1::ListPracticesRequest* request,
                                          v1::ListPracticesResponse* response) override;
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

  // Runs after every committed write: caches, then watchers.
  void AfterCommit(const std::vector<CommittedChange>& changes);
  // The same after an import, whose changes may be too many to list (read back in batches).
  void AfterImport(const ImportOutcome& outcome);

 private:
  class WatchReactor;
  class ImportReactor;

  runtime::CallGate& gate_;
  Store& store_;
  RegistryCache& cache_;
  ChangeHub& hub_;
  const runtime::PageTokenCodec tokens_;
  std::atomic<int> imports_running_{0};
};

}  // namespace dorset::registry

#endif  // DORSET_SERVICES_REGISTRY_REGISTRY_SERVICE_H_
