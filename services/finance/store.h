// The finance service's SQLite store: one writer connection behind a mutex (every write in
// the service goes through it, one transaction each) and a pool of reader connections (WAL
// lets readers run beside the writer and see only committed data).
#ifndef DORSET_SERVICES_FINANCE_STORE_H_
#define DORSET_SERVICES_FINANCE_STORE_H_

#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "runtime/sqlite/database.h"

namespace dorset::finance {

class FinanceStore {
 public:
  // Opens (creating) `<data_dir>/finance.db` and migrates it.
  static absl::StatusOr<std::unique_ptr<FinanceStore>> Open(const std::string& data_dir);

  // Runs `fn(Database&)` on the writer connection while holding the write lock.
  template <typename Fn>
  auto WithWriter(Fn&& fn) {
    absl::MutexLock lock(&write_mu_);
    return fn(*writer_);
  }

  // Runs `fn(Database&)` on a reader connection borrowed from the pool.
  template <typename Fn>
  auto WithReader(Fn&& fn) {
    using Result = std::invoke_result_t<Fn, runtime::sqlite::Database&>;
    ReaderLease lease(*this);
    if (lease.db() == nullptr) return Result(absl::UnavailableError("finance store unavailable"));
    return fn(*lease.db());
  }

  // OK when a reader answers.
  absl::Status Check();
  const std::string& path() const { return path_; }

 private:
  class ReaderLease {
   public:
    explicit ReaderLease(FinanceStore& store);
    ~ReaderLease();
    ReaderLease(const ReaderLease&) = delete;
    ReaderLease& operator=(const ReaderLease&) = delete;
    runtime::sqlite::Database* db() { return db_.get(); }

   private:
    FinanceStore& store_;
    std::unique_ptr<runtime::sqlite::Database> db_;
  };

  FinanceStore(std::string path, std::unique_ptr<runtime::sqlite::Database> writer)
      : path_(std::move(path)), writer_(std::move(writer)) {}

  const std::string path_;
  absl::Mutex write_mu_;
  std::unique_ptr<runtime::sqlite::Database> writer_ ABSL_GUARDED_BY(write_mu_);
  absl::Mutex read_mu_;
  std::vector<std::unique_ptr<runtime::sqlite::Database>> idle_readers_ ABSL_GUARDED_BY(read_mu_);
};

// Wall-clock now in microseconds since the epoch (what the store keeps for times).
int64_t NowMicros();

}  // namespace dorset::finance

#endif  // DORSET_SERVICES_FINANCE_STORE_H_
