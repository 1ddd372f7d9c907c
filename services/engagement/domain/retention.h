// Retention of stakeholders' contact details (issue 17), independent of gRPC: a stakeholder
// whose last activity (last change or last response) is older than the configured period is
// erased with EraseStakeholder's erasure (personal data overwritten, responses anonymised,
// aggregates unchanged). A period of zero turns retention off.
//
// A run (by RunRetention or by the service's timer, retention_timer.h) holds the cross-replica
// lock "engagement-retention" (runtime/storage/replica_lock.h) for its whole length, so with many
// replicas on one database only one runs at a time; one that finds the lock taken does nothing
// (RetentionRun.ran = false). Each erasure is recorded in the audit trail (principal, the
// stakeholder) through EngagementOptions::audit.
#ifndef DORSET_SERVICES_ENGAGEMENT_DOMAIN_RETENTION_H_
#define DORSET_SERVICES_ENGAGEMENT_DOMAIN_RETENTION_H_

#include <atomic>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "dorset/engagement/v1/engagement.pb.h"
#include "runtime/auth/caller.h"
#include "services/engagement/domain/engagement.h"

namespace dorset::engagement {

class Retention {
 public:
  Retention(Engagement& engagement, absl::Duration period)
      : engagement_(engagement), period_(period) {}

  // The dry run: who would be erased now (ids and last activity only).
  absl::Status Preview(const v1::PreviewRetentionRequest& request, v1::RetentionPreview* out);
  // Erases them now, as `caller` (the audit trail records the call and its principal).
  absl::Status Run(const runtime::Caller& caller, const v1::RunRetentionRequest& request,
                   v1::RetentionRun* out) {
    return RunUnless(caller, request, out, nullptr);
  }
  // The same, stopping between erasures once `*stop` is set (the timer's shutdown).
  absl::Status RunUnless(const runtime::Caller& caller, const v1::RunRetentionRequest& request,
                         v1::RetentionRun* out, const std::atomic<bool>* stop);

  // The name of the cross-replica lock a run holds.
  static constexpr std::string_view kLockName = "engagement-retention";

 private:
  absl::Time Cutoff() const { return engagement_.Now() - period_; }

  Engagement& engagement_;
  absl::Duration period_;
};

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_DOMAIN_RETENTION_H_
