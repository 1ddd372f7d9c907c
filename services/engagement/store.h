// The engagement service's SQLite store: the schema (migrations), one writer connection behind a
// mutex and a small pool of reader connections (WAL lets readers run beside the writer).
#ifndef DORSET_SERVICES_ENGAGEMENT_STORE_H_
#define DORSET_SERVICES_ENGAGEMENT_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "runtime/sqlite/database.h"

namespace dorset::engagement {

class Store {
 public:
  // Opens (creating) `path`, migrates it and opens `readers` reader connections.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& path, int readers = 4);

  // The writer connection; hold write_mutex() while using it.
  runtime::sqlite::Database& writer() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_) { return *writer_; }
  absl::Mutex& write_mutex() ABSL_LOCK_RETURNED(write_mu_) { return write_mu_; }

  // A reader connection lent for one scope.
  class ReadLease {
   public:
    ReadLease(Store& store, std::unique_ptr<runtime::sqlite::Database> db)
        : store_(store), db_(std::move(db)) {}
    ReadLease(const ReadLease&) = delete;
    ReadLease& operator=(const ReadLease&) = delete;
    ~ReadLease();
    runtime::sqlite::Database& db() { return *db_; }

   private:
    Store& store_;
    std::unique_ptr<runtime::sqlite::Database> db_;
  };
  ReadLease Read();

  // Runs a trivial query on a reader (readiness).
  absl::Status Check();

 private:
  Store() = default;
  absl::Mutex write_mu_;
  std::unique_ptr<runtime::sqlite::Database> writer_ ABSL_GUARDED_BY(write_mu_);
  absl::Mutex pool_mu_;
  std::vector<std::unique_ptr<runtime::sqlite::Database>> idle_ ABSL_GUARDED_BY(pool_mu_);
};

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_STORE_H_
