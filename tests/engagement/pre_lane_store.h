// The engagement store as it was before the storage lane (runtime/sqlite, schema steps 1-3 in
// PRAGMA user_version), kept for tests only: it writes the engagement.db a pre-lane release left
// behind, which the lane store must adopt (tests/engagement/storage_test.cc).
#ifndef DORSET_TESTS_ENGAGEMENT_PRE_LANE_STORE_H_
#define DORSET_TESTS_ENGAGEMENT_PRE_LANE_STORE_H_

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

#endif  // DORSET_TESTS_ENGAGEMENT_PRE_LANE_STORE_H_
