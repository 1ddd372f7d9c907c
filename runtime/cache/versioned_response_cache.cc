#include "runtime/cache/versioned_response_cache.h"

#include <utility>

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace dorset::runtime {
namespace {

// What an entry costs besides its key and reply bytes (list node, index slot, ByteBuffer).
constexpr size_t kEntryOverhead = 128;

}  // namespace

VersionedResponseCache::VersionedResponseCache(std::string name, size_t max_bytes,
                                               prometheus::Registry* metrics)
    : max_bytes_(max_bytes) {
  if (metrics == nullptr) return;
  const prometheus::Labels labels = {{"cache", std::move(name)}};
  hits_metric_ = &prometheus::BuildCounter()
                      .Name("dorset_response_cache_hits_total")
                      .Help("Reads answered with a stored reply at the store's current version")
                      .Register(*metrics)
                      .Add(labels);
  misses_metric_ = &prometheus::BuildCounter()
                        .Name("dorset_response_cache_misses_total")
                        .Help("Reads computed (no reply stored at the store's current version)")
                        .Register(*metrics)
                        .Add(labels);
  evictions_metric_ = &prometheus::BuildCounter()
                           .Name("dorset_response_cache_evictions_total")
                           .Help("Stored replies dropped to stay within the cache's bytes")
                           .Register(*metrics)
                           .Add(labels);
  bytes_metric_ = &prometheus::BuildGauge()
                       .Name("dorset_response_cache_bytes")
                       .Help("Bytes of stored replies and their keys")
                       .Register(*metrics)
                       .Add(labels);
}

void VersionedResponseCache::Count(prometheus::Counter* counter, std::atomic<uint64_t>& local) {
  local.fetch_add(1, std::memory_order_relaxed);
  if (counter != nullptr) counter->Increment();
}

std::optional<grpc::ByteBuffer> VersionedResponseCache::Get(std::string_view key,
                                                            uint64_t version) {
  std::optional<grpc::ByteBuffer> reply;
  {
    absl::MutexLock lock(&mu_);
    auto it = index_.find(key);
    if (it != index_.end()) {
      List::iterator entry = it->second;
      if (entry->version == version) {
        entries_.splice(entries_.begin(), entries_, entry);
        reply = entry->reply;  // shares the slices
      } else if (entry->version < version) {
        // Computed at an older version: never served again (versions only grow).
        EraseLocked(entry);
      }
    }
  }
  if (reply.has_value()) {
    Count(hits_metric_, hits_);
  } else {
    Count(misses_metric_, misses_);
  }
  return reply;
}

void VersionedResponseCache::Put(std::string_view key, uint64_t version,
                                 const grpc::ByteBuffer& reply) {
  const size_t bytes = key.size() + reply.Length() + kEntryOverhead;
  if (bytes > max_bytes_ / 4) return;
  // Flattened into one slice: a hit hands out a reference, never a copy.
  grpc::ByteBuffer flat;
  {
    grpc::Slice slice;
    if (!reply.TrySingleSlice(&slice).ok() && !reply.DumpToSingleSlice(&slice).ok()) return;
    flat = grpc::ByteBuffer(&slice, 1);
  }
  uint64_t evicted = 0;
  {
    absl::MutexLock lock(&mu_);
    if (auto it = index_.find(key); it != index_.end()) {
      if (it->second->version > version) return;  // a newer reply is already kept
      EraseLocked(it->second);
    }
    while (bytes_ + bytes > max_bytes_ && !entries_.empty()) {
      EraseLocked(std::prev(entries_.end()));
      ++evicted;
    }
    entries_.push_front(Entry{std::string(key), version, std::move(flat), bytes});
    index_.emplace(entries_.front().key, entries_.begin());
    bytes_ += bytes;
    if (bytes_metric_ != nullptr) bytes_metric_->Set(static_cast<double>(bytes_));
  }
  if (evicted > 0) {
    evictions_.fetch_add(evicted, std::memory_order_relaxed);
    if (evictions_metric_ != nullptr) evictions_metric_->Increment(static_cast<double>(evicted));
  }
}

void VersionedResponseCache::EraseLocked(List::iterator it) {
  bytes_ -= it->bytes;
  index_.erase(std::string_view(it->key));
  entries_.erase(it);
  if (bytes_metric_ != nullptr) bytes_metric_->Set(static_cast<double>(bytes_));
}

size_t VersionedResponseCache::bytes() {
  absl::MutexLock lock(&mu_);
  return bytes_;
}

size_t VersionedResponseCache::entries() {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

}  // namespace dorset::runtime
