// What follows every committed registry write: the caches are invalidated (RegistryCache: the
// in-process map and the shared Redis keys, docs/cache-keys.md), then the change watchers are
// woken (ChangeHub). An import may make more changes than it lists; AfterImport reads the rest
// back from the change feed in batches.
#ifndef DORSET_SERVICES_REGISTRY_DOMAIN_COMMIT_EFFECTS_H_
#define DORSET_SERVICES_REGISTRY_DOMAIN_COMMIT_EFFECTS_H_

#include <string>
#include <vector>

#include "services/registry/change_hub.h"
#include "services/registry/importer.h"
#include "services/registry/registry_cache.h"
#include "services/registry/storage/store.h"

namespace dorset::registry {

class CommitEffects {
 public:
  CommitEffects(Store& store, RegistryCache& cache, ChangeHub& hub)
      : store_(store), cache_(cache), hub_(hub) {}

  // Runs after every committed write: caches, then watchers.
  void AfterCommit(const std::vector<CommittedChange>& changes);
  // The same after an import, whose changes may be too many to list (read back in batches).
  void AfterImport(const ImportOutcome& outcome);

 private:
  struct Areas {
    std::vector<std::string> localities;
    std::vector<std::string> clusters;
  };
  // The ids of every locality and cluster (their keys are dropped with any change).
  Areas AreaIds();
  void Invalidate(const std::vector<CommittedChange>& changes, const Areas& areas);

  Store& store_;
  RegistryCache& cache_;
  ChangeHub& hub_;
};

}  // namespace dorset::registry

#endif  // DORSET_SERVICES_REGISTRY_DOMAIN_COMMIT_EFFECTS_H_
