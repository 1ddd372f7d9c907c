// Serialized replies of read methods, kept per data version (issue 16): a read whose reply
// depends only on its request, the caller's visible-data class and the store's contents is
// answered from here, byte for byte, while the store is at the version the reply was computed
// at. Nothing is recomputed or re-serialised on a hit (runtime/server/cached_unary.h serves the
// bytes through a raw gRPC method).
//
// The version is the caller's: a number that changes whenever data a cached reply may show
// changes, and that a reader takes BEFORE it reads the store (so a reply stored under version V
// holds data at least as new as V). A lookup names the current version; an entry under any
// other version is a miss (and dropped). What makes a version sound is the service's business:
// the registry's cache generation (bumped after every commit, before the write is acknowledged,
// and by the change follower for other replicas' commits); finance's data version row, written
// in the same transaction as every write and read from the database.
//
// Bounded by bytes (keys + replies): the least recently used entries go first. Thread-safe.
// Metrics (when given a registry): dorset_response_cache_{hits,misses,evictions}_total and
// dorset_response_cache_bytes, labelled cache=<name>.
#ifndef DORSET_RUNTIME_CACHE_VERSIONED_RESPONSE_CACHE_H_
#define DORSET_RUNTIME_CACHE_VERSIONED_RESPONSE_CACHE_H_

#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/support/byte_buffer.h"

namespace prometheus {
class Counter;
class Gauge;
class Registry;
}  // namespace prometheus

namespace dorset::runtime {

class VersionedResponseCache {
 public:
  // `max_bytes` bounds keys plus replies; a reply larger than a quarter of it is never kept.
  VersionedResponseCache(std::string name, size_t max_bytes,
                         prometheus::Registry* metrics = nullptr);
  VersionedResponseCache(const VersionedResponseCache&) = delete;
  VersionedResponseCache& operator=(const VersionedResponseCache&) = delete;

  // The reply stored under `key` at exactly `version` (a reference to the same bytes, not a
  // copy), or nullopt.
  std::optional<grpc::ByteBuffer> Get(std::string_view key, uint64_t version);
  // Keeps `reply` for `key` at `version`, unless an entry at a newer version is already there.
  void Put(std::string_view key, uint64_t version, const grpc::ByteBuffer& reply);

  size_t bytes();
  size_t entries();
  uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }

 private:
  struct Entry {
    std::string key;
    uint64_t version;
    grpc::ByteBuffer reply;
    size_t bytes;
  };
  using List = std::list<Entry>;
  void EraseLocked(List::iterator it) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Count(prometheus::Counter* counter, std::atomic<uint64_t>& local);

  const size_t max_bytes_;
  absl::Mutex mu_;
  List entries_ ABSL_GUARDED_BY(mu_);  // most recently used first
  absl::flat_hash_map<std::string_view, List::iterator> index_ ABSL_GUARDED_BY(mu_);
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> misses_{0};
  std::atomic<uint64_t> evictions_{0};
  prometheus::Counter* hits_metric_ = nullptr;
  prometheus::Counter* misses_metric_ = nullptr;
  prometheus::Counter* evictions_metric_ = nullptr;
  prometheus::Gauge* bytes_metric_ = nullptr;
};

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_CACHE_VERSIONED_RESPONSE_CACHE_H_
