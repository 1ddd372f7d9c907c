// An activity's figures (aggregates.cc): the response counters by theme, locality and practice
// (registry names joined in), and the published "you said, we did".
#ifndef DORSET_SERVICES_ENGAGEMENT_DOMAIN_AGGREGATES_H_
#define DORSET_SERVICES_ENGAGEMENT_DOMAIN_AGGREGATES_H_

#include "absl/status/status.h"
#include "dorset/engagement/v1/engagement.pb.h"
#include "services/engagement/domain/engagement_context.h"
#include "services/engagement/domain/themes_decisions.h"

namespace dorset::engagement {

class Aggregates {
 public:
  // The published decisions and the themes are read through `coding_frame`.
  Aggregates(EngagementContext& ctx, ThemesAndDecisions& coding_frame)
      : ctx_(ctx), coding_frame_(coding_frame) {}

  absl::Status GetActivityAggregates(const v1::GetActivityAggregatesRequest& request,
                                     v1::ActivityAggregates* out);
  absl::Status GetYouSaidWeDid(const v1::GetYouSaidWeDidRequest& request, v1::YouSaidWeDid* out);

 private:
  EngagementContext& ctx_;
  ThemesAndDecisions& coding_frame_;
};

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_DOMAIN_AGGREGATES_H_
