// An activity's figures (aggregates.cc): the response counters by theme, locality and practice
// (registry names joined in), and the published "you said, we did".
#ifndef DORSET_SERVICES_ENGAGEMENT_DOMAIN_AGGREGATES_H_
#define DORSET_SERVICES_ENGAGEMENT_DOMAIN_AGGREGATES_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "dorset/engagement/v1/engagement.pb.h"
#include "services/engagement/domain/engagement_context.h"
#include "services/engagement/domain/themes_decisions.h"

namespace dorset::engagement {

class Aggregates {
 public:
  // The published decisions and the themes are read through `coding_frame`.
  Aggregates(EngagementContext& ctx, ThemesAndDecisions& coding_frame)
      : ctx_(ctx), coding_frame_(coding_frame) {}

  // The counts come from the store's part kept per store generation (below); registry figures,
  // when there is a registry, are joined per call (their freshness is the registry client's).
  absl::Status GetActivityAggregates(const v1::GetActivityAggregatesRequest& request,
                                     v1::ActivityAggregates* out);
  absl::Status GetYouSaidWeDid(const v1::GetYouSaidWeDidRequest& request, v1::YouSaidWeDid* out);

 private:
  // An activity's aggregates as the store alone gives them (counts; participation without
  // registry figures), kept per store generation (EngagementStore::generation, taken before the
  // read): at most kMaxKept activities, all dropped when full.
  absl::StatusOr<std::shared_ptr<const v1::ActivityAggregates>> StorePart(
      const std::string& activity_id);
  static constexpr size_t kMaxKept = 256;
  struct Kept {
    uint64_t generation = 0;
    std::shared_ptr<const v1::ActivityAggregates> aggregates;
  };

  EngagementContext& ctx_;
  ThemesAndDecisions& coding_frame_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Kept> kept_ ABSL_GUARDED_BY(mu_);
};

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_DOMAIN_AGGREGATES_H_
