// The retention job on a timer inside the engagement service (issue 17): every `interval` it
// runs Retention (retention.h) as the service itself, principal "engagement-retention", so
// contact details past the configured period go without an operator. With many replicas each
// runs the timer, and the cross-replica lock a run holds lets one of them work at a time (the
// others' rounds find it taken and do nothing). The first round runs at start, so a service that
// restarts more often than `interval` still runs it.
//
//   RetentionTimer timer(retention, absl::Hours(1));  // runs until destroyed or Stop()
#ifndef DORSET_SERVICES_ENGAGEMENT_DOMAIN_RETENTION_TIMER_H_
#define DORSET_SERVICES_ENGAGEMENT_DOMAIN_RETENTION_TIMER_H_

#include <atomic>
#include <cstdint>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "services/engagement/domain/retention.h"

namespace dorset::engagement {

class RetentionTimer {
 public:
  // The principal the timer's erasures are made and audited as.
  static constexpr char kPrincipal[] = "engagement-retention";

  RetentionTimer(Retention& retention, absl::Duration interval);
  ~RetentionTimer() { Stop(); }
  RetentionTimer(const RetentionTimer&) = delete;
  RetentionTimer& operator=(const RetentionTimer&) = delete;

  // Ends the current run between two erasures and joins the thread; idempotent.
  void Stop();

  // Rounds finished so far, and of those the ones that held the lock and ran (tests, logs).
  int64_t rounds() const { return rounds_.load(); }
  int64_t runs() const { return runs_.load(); }

 private:
  void Loop();

  Retention& retention_;
  const absl::Duration interval_;
  std::atomic<bool> stopping_{false};
  absl::Notification stop_;
  std::atomic<int64_t> rounds_{0};
  std::atomic<int64_t> runs_{0};
  std::thread thread_;
};

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_DOMAIN_RETENTION_TIMER_H_
