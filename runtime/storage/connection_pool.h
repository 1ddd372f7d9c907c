// A bounded pool of connections from one Connector. Acquire() hands out an idle connection or
// opens a new one while fewer than `capacity` are open, otherwise waits for one to come back.
// A broken connection is discarded on return; after a failed connect the next attempt waits
// for a backoff (doubling up to a cap), and Acquire fails fast with the last error meanwhile, so
// an unreachable database costs callers nothing and is tried again soon.
//
//   ConnectionPool pool(connector, /*capacity=*/4, /*read_only=*/false, backoff);
//   ASSIGN_OR_RETURN(ConnectionPool::Lease lease, pool.Acquire());
//   RETURN_IF_ERROR(lease->Begin(TransactionMode::kWrite));
#ifndef DORSET_RUNTIME_STORAGE_CONNECTION_POOL_H_
#define DORSET_RUNTIME_STORAGE_CONNECTION_POOL_H_

#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "runtime/storage/engine.h"

namespace dorset::runtime::storage {

struct Backoff {
  absl::Duration initial = absl::Milliseconds(50);
  absl::Duration max = absl::Seconds(2);
};

class ConnectionPool {
 public:
  // Returns its connection to the pool when it goes.
  class Lease {
   public:
    Lease(ConnectionPool* pool, std::unique_ptr<Connection> connection)
        : pool_(pool), connection_(std::move(connection)) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    Connection* operator->() const { return connection_.get(); }
    Connection& operator*() const { return *connection_; }
    // Closes the connection instead of returning it to the pool (it holds session state, such
    // as a lock, that could not be undone).
    void Discard() { discard_ = true; }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<Connection> connection_;
    bool discard_ = false;
  };

  // `connector` must outlive the pool.
  ConnectionPool(Connector* connector, int capacity, bool read_only, Backoff backoff);
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  absl::StatusOr<Lease> Acquire();
  // Drops every idle connection (after the server restarted, they are all dead).
  void DiscardIdle();

 private:
  void Release(std::unique_ptr<Connection> connection, bool discard);

  Connector* const connector_;
  const int capacity_;
  const bool read_only_;
  const Backoff backoff_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;  // idle + leased + being opened
  absl::Duration next_backoff_ ABSL_GUARDED_BY(mu_);
  absl::Time retry_after_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Status last_connect_error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace dorset::runtime::storage

#endif  // DORSET_RUNTIME_STORAGE_CONNECTION_POOL_H_
