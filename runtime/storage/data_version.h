// A store's data version and generation (issue 16): what replies kept per store generation
// (runtime/cache/versioned_response_cache.h, runtime/server/cached_unary.h) are keyed by, the
// same way for every service.
//
// The data version lives in the database: a row ('data_version') of the store's key/value table
// `meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)`, raised by BumpDataVersion inside every write
// transaction (so it moves exactly when a commit does) and, on PostgreSQL, notifying the store's
// channel, delivered at that commit.
//
// The generation is a number of this process's own (StoreGeneration), read before a reply is
// computed: raised after each of this process's write transactions commits (before the write is
// acknowledged), and by a DataVersionFollower when the data version in the database moved
// because another replica (or process) wrote.
//
// The follower is prompt on PostgreSQL by LISTEN on the channel, and sound by the database:
// after every notification, and at least once per `poll` without one, it reads the data version
// and advances the generation when it moved. A notification lost while the listening connection
// was down costs at most `poll`. On SQLite it polls only (another process writing the same file,
// e.g. a tool).
//
//   StoreGeneration generation;
//   DataVersionFollower follower({.read_version = [&] { return ReadDataVersion(db); },
//                                 .advance = [&] { generation.Advance(); },
//                                 .postgres_uri = uri, .password = password,
//                                 .channel = "dorset_finance_data"});
#ifndef DORSET_RUNTIME_STORAGE_DATA_VERSION_H_
#define DORSET_RUNTIME_STORAGE_DATA_VERSION_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "runtime/storage/database.h"

namespace dorset::runtime::storage {

class PostgresListener;

// Raises the data version in `tx` (the row is made on first use) and, on PostgreSQL, notifies
// `channel` (a plain identifier), delivered at the commit. The same SQL on both engines.
absl::Status BumpDataVersion(Transaction& tx, std::string_view channel);
// The data version as of `tx`'s snapshot (0 before the first write).
absl::StatusOr<uint64_t> ReadDataVersion(Transaction& tx);
// The same in a read transaction of its own.
absl::StatusOr<uint64_t> ReadDataVersion(Database& db);

// This process's generation of a store (see the file comment). Thread-safe.
class StoreGeneration {
 public:
  uint64_t get() const { return generation_.load(std::memory_order_acquire); }
  void Advance() { generation_.fetch_add(1, std::memory_order_acq_rel); }

 private:
  std::atomic<uint64_t> generation_{1};
};

class DataVersionFollower {
 public:
  struct Source {
    std::function<absl::StatusOr<uint64_t>()> read_version;  // the data version in the database
    std::function<void()> advance;                           // raises the generation
    std::string postgres_uri;                                // "" (SQLite): polls only
    std::string password;
    std::string channel;  // what every write transaction notifies (PostgreSQL)
  };
  // Reads the baseline at once (a write after it, from anywhere, is seen as a change), then
  // follows on a thread of its own until destroyed.
  explicit DataVersionFollower(Source source, absl::Duration poll = absl::Seconds(1));
  ~DataVersionFollower();
  DataVersionFollower(const DataVersionFollower&) = delete;
  DataVersionFollower& operator=(const DataVersionFollower&) = delete;

 private:
  void Loop();

  const Source source_;
  const absl::Duration poll_;
  std::unique_ptr<PostgresListener> listener_;  // null on SQLite
  std::optional<uint64_t> seen_;  // the last data version read (only the thread, once started)
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace dorset::runtime::storage

#endif  // DORSET_RUNTIME_STORAGE_DATA_VERSION_H_
