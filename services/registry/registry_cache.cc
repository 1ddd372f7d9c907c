#include "services/registry/registry_cache.h"

#include <set>

#include "services/registry/client/cache_json.h"
#include "services/registry/client/cache_keys.h"

namespace dorset::registry {
namespace {

constexpr size_t kDeleteBatch = 1000;

// The v1 values' JSON: the protobuf JSON mapping with v1's enum spellings (cache_json.h).
std::string ToJson(const google::protobuf::Message& message) { return cache_json::ToJson(message); }

}  // namespace

RegistryCache::RegistryCache(runtime::Cache& shared, absl::Duration ttl, size_t max_local_entries)
    : shared_(shared), ttl_(ttl), max_local_entries_(max_local_entries) {
  retry_ = std::thread([this] {
    while (!stop_retry_.WaitForNotificationWithTimeout(absl::Milliseconds(250))) {
      absl::MutexLock fill(&fill_mu_);
      if (!pending_.empty()) FlushPendingLocked();
    }
  });
}

RegistryCache::~RegistryCache() {
  stop_retry_.Notify();
  retry_.join();
}

size_t RegistryCache::pending_invalidations() {
  absl::MutexLock fill(&fill_mu_);
  return pending_.size();
}

void RegistryCache::FlushPendingLocked() {
  while (!pending_.empty()) {
    std::vector<std::string> batch;
    for (auto it = pending_.begin(); it != pending_.end() && batch.size() < kDeleteBatch; ++it) {
      batch.push_back(*it);
    }
    if (!shared_.Delete(batch)) return;  // Redis still failing: keep them for the next try
    for (const std::string& key : batch) pending_.erase(key);
  }
}

std::shared_ptr<const v1::Practice> RegistryCache::LocalPractice(const std::string& code) {
  absl::ReaderMutexLock lock(&local_mu_);
  auto it = local_.find(code);
  return it == local_.end() ? nullptr : it->second;
}

uint64_t RegistryCache::generation() { return generation_.load(); }

void RegistryCache::FillPractice(const v1::Practice& practice, uint64_t generation) {
  const std::string json = ToJson(practice);
  absl::MutexLock fill(&fill_mu_);
  if (generation != generation_.load()) return;
  if (!pending_.empty()) FlushPendingLocked();
  {
    absl::MutexLock lock(&local_mu_);
    if (local_.size() >= max_local_entries_) local_.clear();
    local_[practice.ods_code()] = std::make_shared<const v1::Practice>(practice);
  }
  const std::string key = cache_keys::Practice(practice.ods_code());
  filled_.insert(key);
  shared_.Set(key, json, ttl_);
}

void RegistryCache::FillShared(const std::string& key, const google::protobuf::Message& message,
                               uint64_t generation) {
  const std::string json = ToJson(message);
  absl::MutexLock fill(&fill_mu_);
  if (generation != generation_.load()) return;
  if (!pending_.empty()) FlushPendingLocked();
  filled_.insert(key);
  shared_.Set(key, json, ttl_);
}

void RegistryCache::SweepRemote(const std::vector<std::string>& practice_codes, bool all) {
  absl::MutexLock fill(&fill_mu_);
  generation_.fetch_add(1);
  {
    absl::MutexLock lock(&local_mu_);
    if (all) {
      local_.clear();
    } else {
      for (const std::string& code : practice_codes) local_.erase(code);
    }
  }
  for (const std::string& code : practice_codes) pending_.insert(cache_keys::Practice(code));
  pending_.insert(filled_.begin(), filled_.end());
  filled_.clear();
  FlushPendingLocked();
}

void RegistryCache::Invalidate(const std::vector<CommittedChange>& changes,
                               const std::vector<std::string>& locality_ids,
                               const std::vector<std::string>& cluster_ids) {
  if (changes.empty()) return;
  std::vector<std::string> keys;
  std::set<std::string> commissioners;
  for (const CommittedChange& change : changes) {
    if (!change.practice_code.empty()) keys.push_back(cache_keys::Practice(change.practice_code));
    for (const std::string& c : change.commissioners) commissioners.insert(c);
  }
  // Any change can move derived counts, and locality/cluster changes rename them.
  for (const std::string& id : locality_ids) keys.push_back(cache_keys::Locality(id));
  for (const std::string& id : cluster_ids) keys.push_back(cache_keys::Cluster(id));
  keys.push_back(cache_keys::AllLocalities());
  keys.push_back(cache_keys::AllClusters());
  // Locality and cluster changes alter every summary; practice changes those of their
  // commissioners. The Dorset summary is always dropped (it lists localities).
  commissioners.insert("11J");
  for (const std::string& c : commissioners) keys.push_back(cache_keys::Summary(c));
  {
    absl::MutexLock fill(&fill_mu_);
    generation_.fetch_add(1);
    {
      absl::MutexLock lock(&local_mu_);
      for (const CommittedChange& change : changes) {
        if (!change.practice_code.empty()) local_.erase(change.practice_code);
      }
    }
    // Pending until Redis confirms each deletion (see the header).
    pending_.insert(keys.begin(), keys.end());
    FlushPendingLocked();
  }
  // One announcement per committed transaction, listing its changes (without their state);
  // not built when it would go nowhere (the JSON of an import's changes, issue 16).
  if (!shared_.Publishes()) return;
  v1::ListChangesResponse message;
  for (const CommittedChange& change : changes) {
    v1::Change* c = message.add_changes();
    c->set_sequence(change.sequence);
    c->set_kind(change.kind);
    c->set_resource(change.resource);
  }
  message.set_latest_sequence(changes.back().sequence);
  shared_.Publish(cache_keys::kChangesChannel, ToJson(message));
}

}  // namespace dorset::registry
