// An activity's coding frame (themes_decisions.cc): its themes, and the decisions that answer
// them ("you said, we did"). Create (idempotent by request_id), read, list, update under the
// etag, delete while nothing depends on them.
#ifndef DORSET_SERVICES_ENGAGEMENT_DOMAIN_THEMES_DECISIONS_H_
#define DORSET_SERVICES_ENGAGEMENT_DOMAIN_THEMES_DECISIONS_H_

#include "absl/status/status.h"
#include "dorset/engagement/v1/engagement.pb.h"
#include "google/protobuf/empty.pb.h"
#include "runtime/auth/caller.h"
#include "services/engagement/domain/engagement_context.h"

namespace dorset::engagement {

class ThemesAndDecisions {
 public:
  explicit ThemesAndDecisions(EngagementContext& ctx) : ctx_(ctx) {}

  absl::Status CreateTheme(const runtime::Caller& caller, const v1::CreateThemeRequest& request,
                           v1::Theme* out);
  absl::Status GetTheme(const v1::GetThemeRequest& request, v1::Theme* out);
  absl::Status ListThemes(const v1::ListThemesRequest& request, v1::ListThemesResponse* out);
  absl::Status UpdateTheme(const v1::UpdateThemeRequest& request, v1::Theme* out);
  // Only while no response is tagged with it, no decision answers it and the outcome is not
  // published.
  absl::Status DeleteTheme(const v1::DeleteThemeRequest& request, google::protobuf::Empty* out);

  absl::Status CreateDecision(const runtime::Caller& caller,
                              const v1::CreateDecisionRequest& request, v1::Decision* out);
  absl::Status GetDecision(const v1::GetDecisionRequest& request, v1::Decision* out);
  absl::Status ListDecisions(const v1::ListDecisionsRequest& request,
                             v1::ListDecisionsResponse* out);
  absl::Status UpdateDecision(const v1::UpdateDecisionRequest& request, v1::Decision* out);
  // Only while not published.
  absl::Status DeleteDecision(const v1::DeleteDecisionRequest& request,
                              google::protobuf::Empty* out);

 private:
  EngagementContext& ctx_;
};

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_DOMAIN_THEMES_DECISIONS_H_
