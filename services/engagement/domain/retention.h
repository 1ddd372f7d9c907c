// Retention of stakeholders' contact details (issue 17), independent of gRPC: a stakeholder
// whose last activity (last change or last response) is older than the configured period is
// erased with EraseStakeholder's erasure (personal data overwritten, responses anonymised,
// aggregates unchanged). A period of zero turns retention off.
#ifndef DORSET_SERVICES_ENGAGEMENT_DOMAIN_RETENTION_H_
#define DORSET_SERVICES_ENGAGEMENT_DOMAIN_RETENTION_H_

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
                   v1::RetentionRun* out);

 private:
  absl::Time Cutoff() const { return engagement_.Now() - period_; }

  Engagement& engagement_;
  absl::Duration period_;
};

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_DOMAIN_RETENTION_H_
