// ImportFile's stream reactor (api/import_reactor.cc): spools the upload, imports it in one
// transaction, then hands the changes to CommitEffects. StartImport admits at most
// kMaxConcurrentImports at once.
#ifndef DORSET_SERVICES_REGISTRY_API_IMPORT_REACTOR_H_
#define DORSET_SERVICES_REGISTRY_API_IMPORT_REACTOR_H_

#include <atomic>
#include <cstddef>

#include "absl/status/statusor.h"
#include "dorset/registry/v1/registry.grpc.pb.h"
#include "runtime/auth/caller.h"
#include "services/registry/domain/commit_effects.h"
#include "services/registry/storage/store.h"

namespace dorset::registry {

// Largest file ImportFile accepts (the national epraccur is ~3.5 MB). The upload is spooled to
// disk, so this bounds disk use, not memory (docs/registry.md, "Imports").
inline constexpr size_t kMaxImportBytes = 64 * 1024 * 1024;
// Imports running at once; one more is refused with RESOURCE_EXHAUSTED (retry later).
inline constexpr int kMaxConcurrentImports = 2;

// What an import works with; outlives every import reactor (the service owns it).
struct ImportContext {
  Store* store;
  CommitEffects* effects;
  std::atomic<int>* running;  // imports holding a slot
};

// The reactor of one ImportFile call: refused with the caller's status when it was not
// admitted, RESOURCE_EXHAUSTED when every slot is taken.
grpc::ServerReadReactor<v1::ImportFileRequest>* StartImport(
    const ImportContext& context, const absl::StatusOr<runtime::Caller>& caller,
    v1::ImportReport* response);

}  // namespace dorset::registry

#endif  // DORSET_SERVICES_REGISTRY_API_IMPORT_REACTOR_H_
