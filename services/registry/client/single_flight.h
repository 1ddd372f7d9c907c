// Single-flight: concurrent callers asking for the same key share one piece of work. The first
// caller (the leader) runs it; the others wait for its result instead of repeating it. A burst
// of identical registry lookups (say 150 responses naming one practice, or per-head figures
// asked for by many dashboards at once while Redis is down) thus costs one registry call.
//
//   SingleFlight<std::string> flights;
//   absl::StatusOr<std::string> value = flights.Do(key, [&] { return FetchFromRegistry(key); });
//
// Thread-safe. Results are not kept once the flight lands: caching is the caller's business.
#ifndef DORSET_SERVICES_REGISTRY_CLIENT_SINGLE_FLIGHT_H_
#define DORSET_SERVICES_REGISTRY_CLIENT_SINGLE_FLIGHT_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

namespace dorset::registry {

template <typename T>
class SingleFlight {
 public:
  // Runs `work` unless a call for `key` is already in flight, in which case it waits for that
  // call and returns its result. `*shared` (optional) says which happened.
  absl::StatusOr<T> Do(const std::string& key, const std::function<absl::StatusOr<T>()>& work,
                       bool* shared = nullptr) {
    std::shared_ptr<Flight> flight;
    bool leader = false;
    {
      absl::MutexLock lock(&mu_);
      std::shared_ptr<Flight>& slot = flights_[key];
      if (slot == nullptr) {
        slot = std::make_shared<Flight>();
        leader = true;
      }
      flight = slot;
    }
    if (shared != nullptr) *shared = !leader;
    if (!leader) {
      joined_.fetch_add(1, std::memory_order_relaxed);
      flight->done.WaitForNotification();
      return flight->result;
    }
    flight->result = work();
    {
      absl::MutexLock lock(&mu_);
      flights_.erase(key);
    }
    flight->done.Notify();  // publishes `result` to the waiters
    return flight->result;
  }

  // Callers that shared another's flight instead of doing the work.
  int64_t joined() const { return joined_.load(std::memory_order_relaxed); }

 private:
  struct Flight {
    absl::Notification done;
    absl::StatusOr<T> result = absl::UnknownError("flight not landed");
  };
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<Flight>> flights_ ABSL_GUARDED_BY(mu_);
  std::atomic<int64_t> joined_{0};
};

}  // namespace dorset::registry

#endif  // DORSET_SERVICES_REGISTRY_CLIENT_SINGLE_FLIGHT_H_
