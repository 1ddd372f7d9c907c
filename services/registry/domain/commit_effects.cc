#include "services/registry/domain/commit_effects.h"

#include <string>

#include "runtime/logging/log.h"

namespace dorset::registry {
namespace {

constexpr int kFeedBatch = 1000;

}  // namespace

void CommitEffects::AfterCommit(const std::vector<CommittedChange>& changes) {
  if (changes.empty()) return;
  absl::StatusOr<std::vector<std::string>> localities = store_.LocalityIds();
  absl::StatusOr<std::vector<std::string>> clusters = store_.ClusterIds();
  cache_.Invalidate(changes, localities.ok() ? *localities : std::vector<std::string>{},
                    clusters.ok() ? *clusters : std::vector<std::string>{});
  hub_.Notify();
}

void CommitEffects::AfterImport(const ImportOutcome& outcome) {
  AfterCommit(outcome.changes);
  if (!outcome.changes_unlisted || outcome.changes.empty()) return;
  // Too many changes to have listed: read the rest back from the feed, a batch at a time.
  int64_t cursor = outcome.changes.back().sequence;
  const int64_t last = outcome.report.last_sequence();
  // The commissioners of all the unlisted changes (before and after) come with the import, so
  // only the changes' heads are read, not their state.
  std::vector<std::string> commissioners = outcome.unlisted_commissioners;
  while (cursor < last) {
    absl::StatusOr<std::vector<CommittedChange>> batch =
        store_.ChangeHeadsAfter(cursor, kFeedBatch);
    if (!batch.ok() || batch->empty()) {
      runtime::log::Error("reading back an import's changes for the caches failed",
                          {{"after_sequence", cursor}});
      return;  // the cached entries expire with their TTL
    }
    while (!batch->empty() && batch->back().sequence > last) batch->pop_back();
    if (batch->empty()) break;
    cursor = batch->back().sequence;
    if (cursor >= last) {
      for (std::string& c : commissioners) batch->back().commissioners.push_back(std::move(c));
    }
    AfterCommit(*batch);
  }
}

}  // namespace dorset::registry
