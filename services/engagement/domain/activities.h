// Activities and their lifecycle DRAFT -> OPEN -> CLOSED -> OUTCOME_PUBLISHED (activities.cc):
// create (idempotent by request_id), read, list, update under the etag, the lifecycle steps, and
// delete (only while DRAFT and without responses; its themes and decisions go with it).
#ifndef DORSET_SERVICES_ENGAGEMENT_DOMAIN_ACTIVITIES_H_
#define DORSET_SERVICES_ENGAGEMENT_DOMAIN_ACTIVITIES_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "dorset/engagement/v1/engagement.pb.h"
#include "google/protobuf/empty.pb.h"
#include "runtime/auth/caller.h"
#include "services/engagement/domain/engagement_context.h"

namespace dorset::engagement {

class Activities {
 public:
  explicit Activities(EngagementContext& ctx) : ctx_(ctx) {}

  absl::Status CreateActivity(const runtime::Caller& caller,
                              const v1::CreateActivityRequest& request, v1::Activity* out);
  absl::Status GetActivity(const v1::GetActivityRequest& request, v1::Activity* out);
  absl::Status ListActivities(const v1::ListActivitiesRequest& request,
                              v1::ListActivitiesResponse* out);
  absl::Status UpdateActivity(const v1::UpdateActivityRequest& request, v1::Activity* out);
  absl::Status OpenActivity(const v1::OpenActivityRequest& request, v1::Activity* out);
  absl::Status CloseActivity(const v1::CloseActivityRequest& request, v1::Activity* out);
  absl::Status PublishOutcome(const v1::PublishOutcomeRequest& request, v1::Activity* out);
  // Only while DRAFT and without responses; its themes and decisions go with it.
  absl::Status DeleteActivity(const v1::DeleteActivityRequest& request,
                              google::protobuf::Empty* out);

 private:
  // Applies a lifecycle step in one write transaction.
  absl::Status Transition(const std::string& name, const std::string& etag, v1::ActivityState from,
                          v1::ActivityState to,
                          const std::function<absl::Status(v1::Activity&)>& apply,
                          v1::Activity* out);
  // INVALID_ARGUMENT (activity.allowed_practices[i]) for an entry the registry does not know;
  // the entries' form is checked before (ValidateActivityFields).
  absl::Status CheckAllowedPractices(const v1::Activity& activity);

  EngagementContext& ctx_;
};

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_DOMAIN_ACTIVITIES_H_
