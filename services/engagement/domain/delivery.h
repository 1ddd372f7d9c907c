// Decision delivery tracking (issue 17), independent of gRPC: the rules for a decision's
// delivery (status, reason, percentage, milestones) and its history, over the engagement store.
// Every change is one transaction: the history row and the decision's new version together.
#ifndef DORSET_SERVICES_ENGAGEMENT_DOMAIN_DELIVERY_H_
#define DORSET_SERVICES_ENGAGEMENT_DOMAIN_DELIVERY_H_

#include <functional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "dorset/engagement/v1/engagement.pb.h"
#include "runtime/auth/caller.h"
#include "services/engagement/storage/store.h"

namespace dorset::engagement {

// INVALID_ARGUMENT naming the field when `delivery` breaks a rule: a status is set; a reason is
// given exactly for NOT_GOING_AHEAD (at most 2000 bytes); percent_complete is 0..100, 0 for
// PLANNED and 100 for DELIVERED; at most 50 milestones, each with a title of 1..300 bytes and a
// due_time.
absl::Status ValidateDelivery(const v1::Delivery& delivery);

class DecisionDelivery {
 public:
  DecisionDelivery(EngagementStore& store, std::function<absl::Time()> now)
      : store_(store), now_(std::move(now)) {}

  absl::Status Update(const runtime::Caller& caller,
                      const v1::UpdateDecisionDeliveryRequest& request, v1::Decision* out);
  absl::Status ListChanges(const v1::ListDeliveryChangesRequest& request,
                           v1::ListDeliveryChangesResponse* out);

 private:
  EngagementStore& store_;
  std::function<absl::Time()> now_;
};

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_DOMAIN_DELIVERY_H_
