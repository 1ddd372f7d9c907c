// Decision delivery tracking (delivery.h).
#include "services/engagement/domain/delivery.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/etag.h"
#include "services/engagement/domain/names.h"
#include "services/engagement/domain/rows.h"
#include "services/engagement/storage/decision_rows.h"
#include "services/engagement/storage/delivery_rows.h"

namespace dorset::engagement {

absl::Status ValidateDelivery(const v1::Delivery& d) {
  using runtime::InvalidArgument;
  if (d.status() == v1::DELIVERY_STATUS_UNSPECIFIED || !v1::DeliveryStatus_IsValid(d.status())) {
    return InvalidArgument("delivery.status",
                           "must be PLANNED, IN_PROGRESS, DELIVERED or NOT_GOING_AHEAD");
  }
  if (d.status() == v1::DELIVERY_STATUS_NOT_GOING_AHEAD) {
    if (d.reason().empty()) {
      return InvalidArgument("delivery.reason", "is required when not going ahead");
    }
  } else if (!d.reason().empty()) {
    return InvalidArgument("delivery.reason", "only a decision not going ahead has a reason");
  }
  if (d.reason().size() > 2000) return InvalidArgument("delivery.reason", "at most 2000 bytes");
  if (d.percent_complete() < 0 || d.percent_complete() > 100) {
    return InvalidArgument("delivery.percent_complete", "must be 0 to 100");
  }
  if (d.status() == v1::DELIVERY_STATUS_PLANNED && d.percent_complete() != 0) {
    return InvalidArgument("delivery.percent_complete", "must be 0 while PLANNED");
  }
  if (d.status() == v1::DELIVERY_STATUS_DELIVERED && d.percent_complete() != 100) {
    return InvalidArgument("delivery.percent_complete", "must be 100 when DELIVERED");
  }
  if (d.milestones_size() > 50) return InvalidArgument("delivery.milestones", "at most 50");
  for (int i = 0; i < d.milestones_size(); ++i) {
    const v1::Milestone& m = d.milestones(i);
    const std::string field = absl::StrCat("delivery.milestones[", i, "]");
    if (m.title().empty() || m.title().size() > 300) {
      return InvalidArgument(field + ".title", "must be 1 to 300 bytes");
    }
    if (!m.has_due_time()) return InvalidArgument(field + ".due_time", "is required");
    RETURN_IF_ERROR(TimestampMicros(m.due_time(), field + ".due_time").status());
    if (m.has_complete_time()) {
      RETURN_IF_ERROR(TimestampMicros(m.complete_time(), field + ".complete_time").status());
    }
  }
  return absl::OkStatus();
}

absl::Status DecisionDelivery::Update(const runtime::Caller& caller,
                                      const v1::UpdateDecisionDeliveryRequest& request,
                                      v1::Decision* out) {
  ASSIGN_OR_RETURN(ChildName name, ParseDecisionName(request.name(), "name"));
  if (!request.has_delivery()) return runtime::InvalidArgument("delivery", "is required");
  v1::Delivery delivery = request.delivery();
  RETURN_IF_ERROR(ValidateDelivery(delivery));
  if (request.note().size() > 2000) return runtime::InvalidArgument("note", "at most 2000 bytes");
  const int64_t now = ToMicros(now_());
  SetTimestamp(delivery.mutable_update_time(), now);
  delivery.set_updated_by(caller.principal);
  return store_.Write([&](StoreTx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(v1::Decision d, LoadDecision(tx, name.activity, name.id));
    ASSIGN_OR_RETURN(int64_t version, runtime::storage::ParseEtag(d.etag()));
    RETURN_IF_ERROR(CheckEtag("Decision", d.name(), request.etag(), version));
    RETURN_IF_ERROR(
        AppendDeliveryChange(tx, name.activity, name.id, delivery, request.note()).status());
    // The decision's version moves with its delivery, so an etag taken before is stale.
    std::vector<std::string> themes, responses;
    for (const std::string& t : d.themes()) themes.push_back(t.substr(t.rfind('/') + 1));
    for (const std::string& r : d.responses()) responses.push_back(r.substr(r.rfind('/') + 1));
    SetTimestamp(d.mutable_update_time(), now);
    RETURN_IF_ERROR(SaveDecision(tx, name.activity, name.id, d, themes, responses, version + 1,
                                 /*insert=*/false));
    ASSIGN_OR_RETURN(*out, LoadDecision(tx, name.activity, name.id));
    return absl::OkStatus();
  });
}

absl::Status DecisionDelivery::ListChanges(const v1::ListDeliveryChangesRequest& request,
                                           v1::ListDeliveryChangesResponse* out) {
  ASSIGN_OR_RETURN(ChildName name, ParseDecisionName(request.parent(), "parent"));
  if (request.page_size() < 0 || request.page_size() > 1000) {
    return runtime::InvalidArgument("page_size", "must be 0 to 1000");
  }
  const int limit = request.page_size() == 0 ? 100 : request.page_size();
  // The token is the number of the last change of the previous page (the history only grows).
  int64_t after = 0;
  if (!request.page_token().empty() &&
      (!absl::SimpleAtoi(request.page_token(), &after) || after < 0)) {
    return runtime::InvalidArgument("page_token", "is not a token this list returned");
  }
  return store_.Read([&](StoreTx& tx) -> absl::Status {
    RETURN_IF_ERROR(LoadDecision(tx, name.activity, name.id).status());
    ASSIGN_OR_RETURN(std::vector<v1::DeliveryChange> changes,
                     DeliveryChangesAfter(tx, name.activity, name.id, after, limit + 1));
    const bool more = static_cast<int>(changes.size()) > limit;
    if (more) changes.resize(limit);
    for (v1::DeliveryChange& c : changes) *out->add_delivery_changes() = std::move(c);
    if (more) {
      const std::string& last = out->delivery_changes(limit - 1).name();
      out->set_next_page_token(last.substr(last.rfind('/') + 1));
    }
    return absl::OkStatus();
  });
}

}  // namespace dorset::engagement
