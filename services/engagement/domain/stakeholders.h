// Stakeholders and their consents (stakeholders.cc): create (idempotent by request_id), read and
// list with the caller's redaction, update under the etag, erase (personal data zeroed, the
// record kept). No gRPC: the API edge (api/engagement_service) admits the caller and maps the
// status.
#ifndef DORSET_SERVICES_ENGAGEMENT_DOMAIN_STAKEHOLDERS_H_
#define DORSET_SERVICES_ENGAGEMENT_DOMAIN_STAKEHOLDERS_H_

#include "absl/status/status.h"
#include "dorset/engagement/v1/engagement.pb.h"
#include "runtime/auth/caller.h"
#include "services/engagement/domain/engagement_context.h"

namespace dorset::engagement {

class Stakeholders {
 public:
  explicit Stakeholders(EngagementContext& ctx) : ctx_(ctx) {}

  absl::Status CreateStakeholder(const runtime::Caller& caller,
                                 const v1::CreateStakeholderRequest& request, v1::Stakeholder* out);
  absl::Status GetStakeholder(const runtime::Caller& caller,
                              const v1::GetStakeholderRequest& request, v1::Stakeholder* out);
  absl::Status ListStakeholders(const runtime::Caller& caller,
                                const v1::ListStakeholdersRequest& request,
                                v1::ListStakeholdersResponse* out);
  absl::Status UpdateStakeholder(const runtime::Caller& caller,
                                 const v1::UpdateStakeholderRequest& request, v1::Stakeholder* out);
  absl::Status EraseStakeholder(const runtime::Caller& caller,
                                const v1::EraseStakeholderRequest& request, v1::Stakeholder* out);

  // Personal data only for callers with Permission::kPersonalDataRead (noted as read).
  static void RedactStakeholder(const runtime::Caller& caller, v1::Stakeholder& stakeholder);

 private:
  EngagementContext& ctx_;
};

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_DOMAIN_STAKEHOLDERS_H_
