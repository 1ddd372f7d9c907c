// Follows the finance data version of the database for this process (issue 16): when another
// replica (or any other process) commits a write, raises the store's generation
// (FinanceStore::Advance), so replies cached at the older generation are no longer served.
//
// Prompt on PostgreSQL by LISTEN on FinanceStore::kDataChannel (every write transaction
// notifies, delivered at its commit), sound by the database: after every notification, and at
// least once per `poll` without one, it reads the data version and advances when it moved. A
// notification lost while the listening connection was down costs at most `poll`. On SQLite it
// polls only (another process writing the same file, e.g. a tool).
#ifndef DORSET_SERVICES_FINANCE_STORAGE_DATA_VERSION_FOLLOWER_H_
#define DORSET_SERVICES_FINANCE_STORAGE_DATA_VERSION_FOLLOWER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "services/finance/storage/store.h"

namespace dorset::runtime::storage {
class PostgresListener;
}

namespace dorset::finance {

class DataVersionFollower {
 public:
  explicit DataVersionFollower(FinanceStore& store, absl::Duration poll = absl::Seconds(1));
  ~DataVersionFollower();
  DataVersionFollower(const DataVersionFollower&) = delete;
  DataVersionFollower& operator=(const DataVersionFollower&) = delete;

 private:
  void Loop();

  FinanceStore& store_;
  const absl::Duration poll_;
  std::unique_ptr<runtime::storage::PostgresListener> listener_;  // null on SQLite
  std::optional<uint64_t> seen_;  // the last data version read (only the thread, once started)
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace dorset::finance

#endif  // DORSET_SERVICES_FINANCE_STORAGE_DATA_VERSION_FOLLOWER_H_
