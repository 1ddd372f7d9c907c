// A consecutive-failure circuit breaker. Closed: calls go through. After `failure_threshold`
// failures in a row it opens and calls are skipped for `open_for`; then one trial call is
// let through (half-open): success closes it, failure opens it again.
#ifndef DORSET_RUNTIME_CACHE_CIRCUIT_BREAKER_H_
#define DORSET_RUNTIME_CACHE_CIRCUIT_BREAKER_H_

#include <functional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace dorset::runtime {

class CircuitBreaker {
 public:
  using Clock = std::function<absl::Time()>;
  CircuitBreaker(int failure_threshold, absl::Duration open_for, Clock clock = absl::Now)
      : failure_threshold_(failure_threshold), open_for_(open_for), clock_(std::move(clock)) {}

  // True when the caller may try the backend now.
  bool Allow();
  void RecordSuccess();
  void RecordFailure();
  bool open();

 private:
  const int failure_threshold_;
  const absl::Duration open_for_;
  const Clock clock_;
  absl::Mutex mu_;
  int consecutive_failures_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time open_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool trial_in_flight_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_CACHE_CIRCUIT_BREAKER_H_
