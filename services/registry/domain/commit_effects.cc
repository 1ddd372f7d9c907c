#include "services/registry/domain/commit_effects.h"

#include <string>

#include "runtime/logging/log.h"

namespace dorset::registry {
namespace {

constexpr int kFeedBatch = 1000;

}  // namespace

void CommitEffects::AfterCommit(const std::vector<CommittedChange>& changes) {
  if (changes.empty()) return;
  Invalidate(changes, AreaIds());
}

CommitEffects::Areas CommitEffects::AreaIds() {
  absl::StatusOr<std::vector<std::string>> localities = store_.LocalityIds();
  absl::StatusOr<std::vector<std::string>> clusters = store_.ClusterIds();
  return {localities.ok() ? *std::move(localities) : std::vector<std::string>{},
          clusters.ok() ? *std::move(clusters) : std::vector<std::string>{}};
}

void CommitEffects::Invalidate(const std::vector<CommittedChange>& changes, const Areas& areas) {
  cache_.Invalidate(changes, areas.localities, areas.clusters);
  hub_.Notify();
}

void CommitEffects::AfterImport(const ImportOutcome& outcome) {
  if (outcome.changes.empty()) return;
  // The localities and clusters are read once for the import (they are in every batch's keys),
  // not once per batch read back: on the national extract that was 34 read transactions of the
  // ~17 batches' time before the reply (issue 16, bench/README.md session 22).
  const Areas areas = AreaIds();
  Invalidate(outcome.changes, areas);
  if (!outcome.changes_unlisted) return;
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
    Invalidate(*batch, areas);
  }
}

}  // namespace dorset::registry
