#include "runtime/cache/circuit_breaker.h"

namespace dorset::runtime {

bool CircuitBreaker::Allow() {
  absl::MutexLock lock(&mu_);
  if (consecutive_failures_ < failure_threshold_) return true;
  if (clock_() < open_until_) return false;
  if (trial_in_flight_) return false;  // half-open: exactly one trial at a time
  trial_in_flight_ = true;
  return true;
}

void CircuitBreaker::RecordSuccess() {
  absl::MutexLock lock(&mu_);
  consecutive_failures_ = 0;
  trial_in_flight_ = false;
}

void CircuitBreaker::RecordFailure() {
  absl::MutexLock lock(&mu_);
  trial_in_flight_ = false;
  if (++consecutive_failures_ >= failure_threshold_) open_until_ = clock_() + open_for_;
}

bool CircuitBreaker::open() {
  absl::MutexLock lock(&mu_);
  return consecutive_failures_ >= failure_threshold_;
}

}  // namespace dorset::runtime
