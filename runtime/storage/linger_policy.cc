#include "runtime/storage/linger_policy.h"

#include <algorithm>

namespace dorset::runtime::storage {

size_t LingerPolicy::Target(size_t max_group) const {
  size_t target = 0;
  for (size_t jobs : groups_) target = std::max(target, jobs);
  return std::min(target, max_group);
}

LingerPolicy::Decision LingerPolicy::Decide(size_t queued, size_t max_group, absl::Time now) {
  Decision decision;
  if (options_.max_linger <= absl::ZeroDuration() || queued >= options_.few) return decision;
  const size_t target = Target(max_group);
  // No group larger than what is queued now was seen lately: nobody else is writing.
  if (queued >= target) return decision;
  // Lingering has not paid lately: only a probe now and then.
  if (!pays() && now - last_linger_ < options_.probe_interval) return decision;
  last_linger_ = now;
  decision.linger = true;
  decision.until = target;
  decision.bound = options_.max_linger;
  return decision;
}

void LingerPolicy::Lingered(size_t caught) {
  outcomes_.push_back(caught > 0);
  if (caught > 0) ++caught_;
  if (outcomes_.size() > options_.window) {
    if (outcomes_.front()) --caught_;
    outcomes_.pop_front();
  }
}

void LingerPolicy::Took(size_t jobs) {
  groups_.push_back(jobs);
  if (groups_.size() > options_.window) groups_.pop_front();
}

}  // namespace dorset::runtime::storage
