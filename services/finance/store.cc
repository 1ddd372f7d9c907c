#include "services/finance/store.h"

#include "absl/time/clock.h"
#include "runtime/status/status_macros.h"
#include "services/finance/schema.h"

namespace dorset::finance {

using runtime::sqlite::Database;

int64_t NowMicros() { return absl::ToUnixMicros(absl::Now()); }

absl::StatusOr<std::unique_ptr<FinanceStore>> FinanceStore::Open(const std::string& data_dir) {
  const std::string path = data_dir + "/finance.db";
  ASSIGN_OR_RETURN(std::unique_ptr<Database> writer, Database::Open(path));
  RETURN_IF_ERROR(writer->Migrate(Migrations()));
  return std::unique_ptr<FinanceStore>(new FinanceStore(path, std::move(writer)));
}

FinanceStore::ReaderLease::ReaderLease(FinanceStore& store) : store_(store) {
  {
    absl::MutexLock lock(&store_.read_mu_);
    if (!store_.idle_readers_.empty()) {
      db_ = std::move(store_.idle_readers_.back());
      store_.idle_readers_.pop_back();
      return;
    }
  }
  // A reader connection opens read-write (WAL needs the shm file) but only ever reads.
  absl::StatusOr<std::unique_ptr<Database>> opened = Database::Open(store_.path_);
  if (opened.ok()) db_ = *std::move(opened);
}

FinanceStore::ReaderLease::~ReaderLease() {
  if (db_ == nullptr) return;
  absl::MutexLock lock(&store_.read_mu_);
  store_.idle_readers_.push_back(std::move(db_));
}

absl::Status FinanceStore::Check() {
  return WithReader([](Database& db) -> absl::Status {
    ASSIGN_OR_RETURN(auto stmt, db.Prepare("SELECT COUNT(*) FROM meta"));
    return stmt.Run();
  });
}

}  // namespace dorset::finance
