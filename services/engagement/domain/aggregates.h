// An activity's figures (aggregates.cc): the response counters by theme, locality and practice
// (registry names joined in), and the published "you said, we did".
#ifndef DORSET_SERVICES_ENGAGEMENT_DOMAIN_AGGREGATES_H_
#define DORSET_SERVICES_ENGAGEMENT_DOMAIN_AGGREGATES_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "dorset/engagement/v1/engagement.pb.h"
#include "runtime/server/serialized_reply.h"
#include "services/engagement/domain/counters.h"
#include "services/engagement/domain/engagement_context.h"
#include "services/engagement/domain/themes_decisions.h"
#include "services/engagement/storage/counter_rows.h"

namespace dorset::engagement {

class Aggregates {
 public:
  // The published decisions and the themes are read through `coding_frame`.
  Aggregates(EngagementContext& ctx, ThemesAndDecisions& coding_frame)
      : ctx_(ctx), coding_frame_(coding_frame) {}

  // The counts come from the store's part kept per activity (below); registry figures, when
  // there is a registry, are joined per call (their freshness is the registry client's).
  absl::Status GetActivityAggregates(const v1::GetActivityAggregatesRequest& request,
                                     v1::ActivityAggregates* out);
  // The same as bytes (GetActivityAggregates' reply kept by the service): without a registry the
  // name's field followed by the store part's bytes as kept, so a change of the counts costs one
  // serialisation, not a read, a copy and a serialisation per caller.
  absl::Status GetActivityAggregatesBytes(const v1::GetActivityAggregatesRequest& request,
                                          runtime::SerializedReply<v1::ActivityAggregates>* out);
  absl::Status GetYouSaidWeDid(const v1::GetYouSaidWeDidRequest& request, v1::YouSaidWeDid* out);

  // Whether any activity's counts are kept: the response writer then hands each group's deltas
  // and data version to ApplyGroup.
  bool KeepsCounts() const { return keeps_counts_.load(std::memory_order_acquire); }
  // A group of responses committed (ResponseWriter, on its writer thread, after the commit and
  // before any of its responses is acknowledged): `sums` its counter deltas, `data_version` the
  // store's data version it committed (read in its transaction after the bump). The kept counts
  // of the version before it take the deltas; any other kept counts (a write in between that
  // did not come here) are dropped, and all of them without a version.
  void ApplyGroup(std::optional<uint64_t> data_version, const CounterSums& sums);

 private:
  // Kept per activity, at most kMaxKept (all dropped when full): the counter cells as of
  // `data_version` (the data version in the snapshot they were read in, then raised by each
  // group applied), valid while EngagementStore::activity_generation (taken before the read)
  // stays `generation`: every write but a group of responses raises it, and the groups come
  // through ApplyGroup before they are acknowledged.
  struct Kept {
    uint64_t generation = 0;
    uint64_t data_version = 0;
    CounterTable cells;
    std::vector<std::string> localities;  // the activity's (participation)
    // The activity's aggregates as the store alone gives them (counts; participation without
    // registry figures), serialised without a name: built from `cells` by the first reader
    // after they changed, null until then.
    std::shared_ptr<const std::string> bytes;
  };
  absl::StatusOr<std::shared_ptr<const std::string>> StorePart(const std::string& activity_id);
  static void Build(Kept& kept, const std::string& activity_id);
  static constexpr size_t kMaxKept = 256;

  EngagementContext& ctx_;
  ThemesAndDecisions& coding_frame_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Kept> kept_ ABSL_GUARDED_BY(mu_);
  // The newest data version a group brought (a read of an older snapshot is not kept after
  // it), and the groups that came without one (a read that overlapped one is not kept).
  uint64_t applied_version_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t groups_without_version_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<bool> keeps_counts_{false};
};

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_DOMAIN_AGGREGATES_H_
