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
  std::vector<std::string> commissioners = outcome.unlisted_commissioners;
  while (cursor < last) {
    absl::StatusOr<std::vector<v1::Change>> changes = store_.ChangesAfter(cursor, kFeedBatch);
    if (!changes.ok() || changes->empty()) {
      runtime::log::Error("reading back an import's changes for the caches failed",
                          {{"after_sequence", cursor}});
      return;  // the cached entries expire with their TTL
    }
    std::vector<CommittedChange> batch;
    for (const v1::Change& c : *changes) {
      if (c.sequence() > last) break;
      CommittedChange& committed = batch.emplace_back();
      committed.sequence = c.sequence();
      committed.kind = c.kind();
      committed.resource = c.resource();
      if (c.has_practice()) {
        committed.practice_code = c.practice().ods_code();
        committed.commissioners.push_back(c.practice().commissioner());
      }
      cursor = c.sequence();
    }
    if (batch.empty()) break;
    if (cursor >= last) {
      for (std::string& c : commissioners) batch.back().commissioners.push_back(std::move(c));
    }
    AfterCommit(batch);
  }
}

}  // namespace dorset::registry
