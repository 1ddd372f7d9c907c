#include "services/registry/api/registry_service.h"

#include <functional>

#include "runtime/api/repeated_limits.h"
#include "runtime/server/cached_unary.h"
#include "runtime/server/streaming.h"
#include "runtime/server/unary.h"
#include "runtime/status/errors.h"
#include "services/registry/api/watch_reactor.h"

namespace dorset::registry {
namespace {

// The documented caps on the repeated fields of registry requests (docs/registry.md), checked
// by count before any per-item work; update_mask.paths takes runtime::kMaxMaskPaths.
constexpr runtime::RepeatedLimit kRequestLimits[] = {
    {"statuses", 10},
    {"practice.address_lines", 5},
};

}  // namespace

RegistryServiceImpl::RegistryServiceImpl(runtime::CallGate& gate, Store& store,
                                         RegistryCache& cache, ChangeHub& hub,
                                         runtime::PageTokenCodec tokens,
                                         prometheus::Registry* metrics, size_t reply_cache_bytes)
    : gate_(gate),
      store_(store),
      cache_(cache),
      replies_("registry", reply_cache_bytes, metrics),
      hub_(hub),
      effects_(store, cache, hub),
      domain_(store, cache, effects_, std::move(tokens)),
      imports_{&store, &effects_, &imports_running_} {
  runtime::RegisterRawMethod("/dorset.registry.v1.RegistryService/GetPractice",
                             v1::GetPracticeRequest::default_instance());
  runtime::RegisterRawMethod("/dorset.registry.v1.RegistryService/ListPractices",
                             v1::ListPracticesRequest::default_instance());
}

// Practices and pages are the same for every caller who may read them; the generation is
// taken before the domain reads the store (registry_cache.h).
grpc::ServerUnaryReactor* RegistryServiceImpl::GetPractice(grpc::CallbackServerContext* context,
                                                           const grpc::ByteBuffer* request,
                                                           grpc::ByteBuffer* response) {
  return runtime::CachedUnary<v1::GetPracticeRequest, v1::Practice>(
      gate_, context, *request, response, replies_,
      [this]() -> absl::StatusOr<uint64_t> { return cache_.generation(); },
      runtime::SameReplyForEveryCaller, std::bind_front(&RegistryDomain::GetPractice, &domain_));
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ListPractices(grpc::CallbackServerContext* context,
                                                             const grpc::ByteBuffer* request,
                                                             grpc::ByteBuffer* response) {
  return runtime::CachedUnary<v1::ListPracticesRequest,
                              runtime::SerializedReply<v1::ListPracticesResponse>>(
      gate_, context, kRequestLimits, *request, response, replies_,
      [this]() -> absl::StatusOr<uint64_t> { return cache_.generation(); },
      runtime::SameReplyForEveryCaller, std::bind_front(&RegistryDomain::ListPractices, &domain_));
}

grpc::ServerUnaryReactor* RegistryServiceImpl::CreatePractice(
    grpc::CallbackServerContext* context, const v1::CreatePracticeRequest* request,
    v1::Practice* response) {
  return runtime::Unary(gate_, context, kRequestLimits, *request, response,
                        std::bind_front(&RegistryDomain::CreatePractice, &domain_));
}

grpc::ServerUnaryReactor* RegistryServiceImpl::UpdatePractice(
    grpc::CallbackServerContext* context, const v1::UpdatePracticeRequest* request,
    v1::Practice* response) {
  return runtime::Unary(gate_, context, kRequestLimits, *request, response,
                        std::bind_front(&RegistryDomain::UpdatePractice, &domain_));
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ClosePractice(
    grpc::CallbackServerContext* context, const v1::ClosePracticeRequest* request,
    v1::Practice* response) {
  return runtime::Unary(gate_, context, *request, response,
                        std::bind_front(&RegistryDomain::ClosePractice, &domain_));
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ListPracticeRevisions(
    grpc::CallbackServerContext* context, const v1::ListPracticeRevisionsRequest* request,
    v1::ListPracticeRevisionsResponse* response) {
  return runtime::Unary(gate_, context, *request, response,
                        std::bind_front(&RegistryDomain::ListPracticeRevisions, &domain_));
}

grpc::ServerUnaryReactor* RegistryServiceImpl::GetLocality(grpc::CallbackServerContext* context,
                                                           const v1::GetLocalityRequest* request,
                                                           v1::Locality* response) {
  return runtime::Unary(gate_, context, *request, response,
                        std::bind_front(&RegistryDomain::GetLocality, &domain_));
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ListLocalities(
    grpc::CallbackServerContext* context, const v1::ListLocalitiesRequest* request,
    v1::ListLocalitiesResponse* response) {
  return runtime::Unary(gate_, context, *request, response,
                        std::bind_front(&RegistryDomain::ListLocalities, &domain_));
}

grpc::ServerUnaryReactor* RegistryServiceImpl::GetCluster(grpc::CallbackServerContext* context,
                                                          const v1::GetClusterRequest* request,
                                                          v1::Cluster* response) {
  return runtime::Unary(gate_, context, *request, response,
                        std::bind_front(&RegistryDomain::GetCluster, &domain_));
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ListClusters(grpc::CallbackServerContext* context,
                                                            const v1::ListClustersRequest* request,
                                                            v1::ListClustersResponse* response) {
  return runtime::Unary(gate_, context, *request, response,
                        std::bind_front(&RegistryDomain::ListClusters, &domain_));
}

grpc::ServerUnaryReactor* RegistryServiceImpl::GetAreaSummary(
    grpc::CallbackServerContext* context, const v1::GetAreaSummaryRequest* request,
    v1::AreaSummary* response) {
  return runtime::Unary(gate_, context, *request, response,
                        std::bind_front(&RegistryDomain::GetAreaSummary, &domain_));
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ListChanges(grpc::CallbackServerContext* context,
                                                           const v1::ListChangesRequest* request,
                                                           v1::ListChangesResponse* response) {
  return runtime::Unary(gate_, context, *request, response,
                        std::bind_front(&RegistryDomain::ListChanges, &domain_));
}

grpc::ServerWriteReactor<v1::Change>* RegistryServiceImpl::WatchChanges(
    grpc::CallbackServerContext* context, const v1::WatchChangesRequest* request) {
  absl::StatusOr<runtime::Caller> caller = gate_.Admit(*context);
  if (!caller.ok()) return runtime::RefusedStream<v1::Change>::Create(caller.status());
  if (request->after_sequence() < 0) {
    return runtime::RefusedStream<v1::Change>::Create(
        runtime::InvalidArgument("after_sequence", "must not be negative"));
  }
  return new WatchReactor(store_, hub_, request->after_sequence());
}

grpc::ServerReadReactor<v1::ImportFileRequest>* RegistryServiceImpl::ImportFile(
    grpc::CallbackServerContext* context, v1::ImportReport* response) {
  return StartImport(imports_, gate_.Admit(*context), response);
}

}  // namespace dorset::registry
