#include "runtime/sqlite/storage_faults.h"

#include <atomic>
#include <filesystem>
#include <map>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace dorset::runtime::sqlite {
namespace {

struct Registry {
  absl::Mutex mu;
  std::map<std::string, StorageFault> faults ABSL_GUARDED_BY(mu);
  // Lets every commit skip the lock while nothing is wrong (the usual case).
  std::atomic<int> unresolved{0};
  std::atomic<int64_t> count{0};
};

Registry& Faults() {
  static Registry* registry = new Registry;  // never destroyed: threads may outlive main
  return *registry;
}

std::string Canonical(const std::string& path) {
  std::error_code ec;
  std::filesystem::path canonical = std::filesystem::weakly_canonical(path, ec);
  return ec ? path : canonical.string();
}

}  // namespace

void NoteStorageFault(const std::string& path, const absl::Status& status) {
  Registry& r = Faults();
  r.count.fetch_add(1);
  const std::string key = Canonical(path);
  absl::MutexLock lock(&r.mu);
  auto [it, inserted] = r.faults.insert_or_assign(key, StorageFault{key, status, absl::Now()});
  (void)it;
  if (inserted) r.unresolved.fetch_add(1);
}

void NoteStorageWritten(const std::string& path) {
  Registry& r = Faults();
  if (r.unresolved.load() == 0) return;
  const std::string key = Canonical(path);
  absl::MutexLock lock(&r.mu);
  if (r.faults.erase(key) > 0) r.unresolved.fetch_sub(1);
}

std::optional<StorageFault> ActiveStorageFault(const std::string& dir, absl::Duration hold) {
  Registry& r = Faults();
  if (r.unresolved.load() == 0) return std::nullopt;
  std::string prefix = Canonical(dir);
  if (!absl::EndsWith(prefix, "/")) prefix += "/";
  const absl::Time since = absl::Now() - hold;
  std::optional<StorageFault> latest;
  absl::MutexLock lock(&r.mu);
  for (const auto& [path, fault] : r.faults) {
    if (!absl::StartsWith(path, prefix) || fault.last < since) continue;
    if (!latest.has_value() || fault.last > latest->last) latest = fault;
  }
  return latest;
}

int64_t StorageFaultCount() { return Faults().count.load(); }

}  // namespace dorset::runtime::sqlite
