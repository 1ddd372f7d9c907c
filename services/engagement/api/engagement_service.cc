#include "services/engagement/api/engagement_service.h"

#include <functional>

#include "runtime/api/repeated_limits.h"
#include "runtime/server/cached_unary.h"
#include "runtime/server/streaming.h"
#include "runtime/server/unary.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "services/engagement/api/export_reactor.h"
#include "services/engagement/domain/names.h"

namespace dorset::engagement {

using runtime::Caller;
using runtime::Unary;

namespace {

// The documented caps on the repeated fields of engagement requests (docs/engagement.md); any
// other repeated field takes runtime::kDefaultMaxRepeated. Checked before any per-item work.
constexpr runtime::RepeatedLimit kRequestLimits[] = {
    {"activity.localities", 100}, {"activity.allowed_practices", 100}, {"response.themes", 20},
    {"decision.themes", 100},     {"decision.responses", 1000},
};

}  // namespace

EngagementServiceImpl::EngagementServiceImpl(runtime::CallGate& gate, Engagement& engagement,
                                             ResponseWriter& writer, bool registry_configured,
                                             prometheus::Registry* metrics)
    : gate_(gate),
      engagement_(engagement),
      writer_(writer),
      registry_configured_(registry_configured),
      replies_("engagement", kReplyCacheBytes, metrics) {
  runtime::RegisterRawMethod("/dorset.engagement.v1.EngagementService/GetActivity",
                             v1::GetActivityRequest::default_instance());
  runtime::RegisterRawMethod("/dorset.engagement.v1.EngagementService/GetActivityAggregates",
                             v1::GetActivityAggregatesRequest::default_instance());
}

grpc::ServerUnaryReactor* EngagementServiceImpl::CreateStakeholder(
    Ctx* c, const v1::CreateStakeholderRequest* q, v1::Stakeholder* r) {
  return Unary(gate_, c, kRequestLimits, *q, r,
               std::bind_front(&Stakeholders::CreateStakeholder, &engagement_.stakeholders()));
}
grpc::ServerUnaryReactor* EngagementServiceImpl::GetStakeholder(Ctx* c,
                                                                const v1::GetStakeholderRequest* q,
                                                                v1::Stakeholder* r) {
  return Unary(gate_, c, kRequestLimits, *q, r,
               std::bind_front(&Stakeholders::GetStakeholder, &engagement_.stakeholders()));
}
grpc::ServerUnaryReactor* EngagementServiceImpl::ListStakeholders(
    Ctx* c, const v1::ListStakeholdersRequest* q, v1::ListStakeholdersResponse* r) {
  return Unary(gate_, c, kRequestLimits, *q, r,
               std::bind_front(&Stakeholders::ListStakeholders, &engagement_.stakeholders()));
}
grpc::ServerUnaryReactor* EngagementServiceImpl::UpdateStakeholder(
    Ctx* c, const v1::UpdateStakeholderRequest* q, v1::Stakeholder* r) {
  return Unary(gate_, c, kRequestLimits, *q, r,
               std::bind_front(&Stakeholders::UpdateStakeholder, &engagement_.stakeholders()));
}
grpc::ServerUnaryReactor* EngagementServiceImpl::EraseStakeholder(
    Ctx* c, const v1::EraseStakeholderRequest* q, v1::Stakeholder* r) {
  return Unary(gate_, c, kRequestLimits, *q, r,
               std::bind_front(&Stakeholders::EraseStakeholder, &engagement_.stakeholders()));
}
grpc::ServerUnaryReactor* EngagementServiceImpl::CreateActivity(Ctx* c,
                                                                const v1::CreateActivityRequest* q,
                                                                v1::Activity* r) {
  return Unary(gate_, c, kRequestLimits, *q, r,
               std::bind_front(&Activities::CreateActivity, &engagement_.activities()));
}
// Kept per activity generation (EngagementStore::activity_generation, taken before the activity
// is read): this process's writes raise it before they are acknowledged, except the groups of
// responses (they never change an activity), other replicas' writes when the
// DataVersionFollower sees the database's data version move (notified at their commit). An
// activity is the same for every caller who may read it (no personal data, nothing redacted).
grpc::ServerUnaryReactor* EngagementServiceImpl::GetActivity(Ctx* c, const grpc::ByteBuffer* q,
                                                             grpc::ByteBuffer* r) {
  return runtime::CachedUnary<v1::GetActivityRequest, v1::Activity>(
      gate_, c, kRequestLimits, *q, r, replies_,
      [this]() -> absl::StatusOr<uint64_t> { return engagement_.store().activity_generation(); },
      runtime::SameReplyForEveryCaller,
      std::bind_front(&Activities::GetActivity, &engagement_.activities()));
}
grpc::ServerUnaryReactor* EngagementServiceImpl::ListActivities(Ctx* c,
                                                                const v1::ListActivitiesRequest* q,
                                                                v1::ListActivitiesResponse* r) {
  return Unary(gate_, c, kRequestLimits, *q, r,
               std::bind_front(&Activities::ListActivities, &engagement_.activities()));
}
grpc::ServerUnaryReactor* EngagementServiceImpl::UpdateActivity(Ctx* c,
                                                                const v1::UpdateActivityRequest* q,
                                                                v1::Activity* r) {
  return Unary(gate_, c, kRequestLimits, *q, r,
               std::bind_front(&Activities::UpdateActivity, &engagement_.activities()));
}
grpc::ServerUnaryReactor* EngagementServiceImpl::OpenActivity(Ctx* c,
                                                              const v1::OpenActivityRequest* q,
                                                              v1::Activity* r) {
  return Unary(gate_, c, kRequestLimits, *q, r,
               std::bind_front(&Activities::OpenActivity, &engagement_.activities()));
}
grpc::ServerUnaryReactor* EngagementServiceImpl::CloseActivity(Ctx* c,
                                                               const v1::CloseActivityRequest* q,
                                                               v1::Activity* r) {
  return Unary(gate_, c, kRequestLimits, *q, r,
               std::bind_front(&Activities::CloseActivity, &engagement_.activities()));
}
grpc::ServerUnaryReactor* EngagementServiceImpl::PublishOutcome(Ctx* c,
                                                                const v1::PublishOutcomeRequest* q,
                                                                v1::Activity* r) {
  return Unary(gate_, c, kRequestLimits, *q, r,
               std::bind_front(&Activities::PublishOutcome, &engagement_.activities()));
}
grpc::ServerUnaryReactor* EngagementServiceImpl::DeleteActivity(Ctx* c,
                                                                const v1::DeleteActivityRequest* q,
                                                                google::protobuf::Empty* r) {
  return Unary(gate_, c, kRequestLimits, *q, r,
               std::bind_front(&Activities::DeleteActivity, &engagement_.activities()));
}
grpc::ServerUnaryReactor* EngagementServiceImpl::CreateTheme(Ctx* c,
                                                             const v1::CreateThemeRequest* q,
                                                             v1::Theme* r) {
  return Unary(
      gate_, c, kRequestLimits, *q, r,
      std::bind_front(&ThemesAndDecisions::CreateTheme, &engagement_.themes_and_decisions()));
}
grpc::ServerUnaryReactor* EngagementServiceImpl::GetTheme(Ctx* c, const v1::GetThemeRequest* q,
                                                          v1::Theme* r) {
  return Unary(gate_, c, kRequestLimits, *q, r,
               std::bind_front(&ThemesAndDecisions::GetTheme, &engagement_.themes_and_decisions()));
}
grpc::ServerUnaryReactor* EngagementServiceImpl::ListThemes(Ctx* c, const v1::ListThemesRequest* q,
                                                            v1::ListThemesResponse* r) {
  return Unary(
      gate_, c, kRequestLimits, *q, r,
      std::bind_front(&ThemesAndDecisions::ListThemes, &engagement_.themes_and_decisions()));
}
grpc::ServerUnaryReactor* EngagementServiceImpl::UpdateTheme(Ctx* c,
                                                             const v1::UpdateThemeRequest* q,
                                                             v1::Theme* r) {
  return Unary(
      gate_, c, kRequestLimits, *q, r,
      std::bind_front(&ThemesAndDecisions::UpdateTheme, &engagement_.themes_and_decisions()));
}
grpc::ServerUnaryReactor* EngagementServiceImpl::DeleteTheme(Ctx* c,
                                                             const v1::DeleteThemeRequest* q,
                                                             google::protobuf::Empty* r) {
  return Unary(
      gate_, c, kRequestLimits, *q, r,
      std::bind_front(&ThemesAndDecisions::DeleteTheme, &engagement_.themes_and_decisions()));
}

grpc::ServerUnaryReactor* EngagementServiceImpl::CreateResponse(Ctx* c,
                                                                const v1::CreateResponseRequest* q,
                                                                v1::Response* r) {
  // Not Unary(): the call is finished by the writer thread once its batch has committed.
  const runtime::UnaryHandle call(c, q, r);
  absl::StatusOr<Caller> caller = call.Admit(gate_);
  if (!caller.ok()) return call.Finish(runtime::ToGrpcStatus(caller.status()));
  if (absl::Status limits = runtime::CheckRepeatedLimits(*q, kRequestLimits); !limits.ok()) {
    return call.Finish(runtime::ToGrpcStatus(limits));
  }
  absl::StatusOr<PendingResponse> pending = engagement_.responses().PrepareResponse(*caller, *q);
  if (!pending.ok()) return call.Finish(runtime::ToGrpcStatus(pending.status()));
  // The call's audit event goes into the group's transaction (one sync; audit_outbox.h).
  writer_.Submit({*std::move(pending), r,
                  [call, r, caller = *std::move(caller)](const absl::Status& status) {
                    if (status.ok()) Responses::RedactResponse(caller, *r);
                    call.Finish(runtime::ToGrpcStatus(status));
                  },
                  call.Outboxed()});
  return call.reactor();
}

grpc::ServerUnaryReactor* EngagementServiceImpl::GetResponse(Ctx* c,
                                                             const v1::GetResponseRequest* q,
                                                             v1::Response* r) {
  return Unary(gate_, c, kRequestLimits, *q, r,
               std::bind_front(&Responses::GetResponse, &engagement_.responses()));
}
grpc::ServerUnaryReactor* EngagementServiceImpl::ListResponses(Ctx* c,
                                                               const v1::ListResponsesRequest* q,
                                                               v1::ListResponsesResponse* r) {
  return Unary(gate_, c, kRequestLimits, *q, r,
               std::bind_front(&Responses::ListResponses, &engagement_.responses()));
}
grpc::ServerUnaryReactor* EngagementServiceImpl::UpdateResponse(Ctx* c,
                                                                const v1::UpdateResponseRequest* q,
                                                                v1::Response* r) {
  return Unary(gate_, c, kRequestLimits, *q, r,
               std::bind_front(&Responses::UpdateResponse, &engagement_.responses()));
}

grpc::ServerWriteReactor<v1::ExportResponsesChunk>* EngagementServiceImpl::ExportResponses(
    Ctx* c, const v1::ExportResponsesRequest* q) {
  using Refused = runtime::RefusedStream<v1::ExportResponsesChunk>;
  absl::StatusOr<Caller> caller = gate_.Admit(*c);
  if (!caller.ok()) return Refused::Create(caller.status());
  absl::StatusOr<std::string> activity = ParseActivityName(q->parent(), "parent");
  if (!activity.ok()) return Refused::Create(activity.status());
  if (q->chunk_size() < 0) {
    return Refused::Create(runtime::InvalidArgument("chunk_size", "must not be negative"));
  }
  const int chunk = q->chunk_size() == 0 ? 500 : std::min(q->chunk_size(), 1000);
  int64_t start_after = 0;
  if (!q->start_after().empty()) {
    absl::StatusOr<ResponseId> cursor = ParseResponseName(q->start_after(), "start_after");
    if (!cursor.ok()) return Refused::Create(cursor.status());
    if (cursor->activity != *activity) {
      return Refused::Create(
          runtime::InvalidArgument("start_after", "must be a response of the exported activity"));
    }
    start_after = cursor->id;
  }
  if (absl::Status exists = engagement_.CheckActivityExists(*activity); !exists.ok()) {
    return Refused::Create(exists);
  }
  return ExportReactor::Start(engagement_, *std::move(caller), *std::move(activity), chunk,
                              start_after, stopping_);
}

grpc::ServerUnaryReactor* EngagementServiceImpl::CreateDecision(Ctx* c,
                                                                const v1::CreateDecisionRequest* q,
                                                                v1::Decision* r) {
  return Unary(
      gate_, c, kRequestLimits, *q, r,
      std::bind_front(&ThemesAndDecisions::CreateDecision, &engagement_.themes_and_decisions()));
}
grpc::ServerUnaryReactor* EngagementServiceImpl::GetDecision(Ctx* c,
                                                             const v1::GetDecisionRequest* q,
                                                             v1::Decision* r) {
  return Unary(
      gate_, c, kRequestLimits, *q, r,
      std::bind_front(&ThemesAndDecisions::GetDecision, &engagement_.themes_and_decisions()));
}
grpc::ServerUnaryReactor* EngagementServiceImpl::ListDecisions(Ctx* c,
                                                               const v1::ListDecisionsRequest* q,
                                                               v1::ListDecisionsResponse* r) {
  return Unary(
      gate_, c, kRequestLimits, *q, r,
      std::bind_front(&ThemesAndDecisions::ListDecisions, &engagement_.themes_and_decisions()));
}
grpc::ServerUnaryReactor* EngagementServiceImpl::UpdateDecision(Ctx* c,
                                                                const v1::UpdateDecisionRequest* q,
                                                                v1::Decision* r) {
  return Unary(
      gate_, c, kRequestLimits, *q, r,
      std::bind_front(&ThemesAndDecisions::UpdateDecision, &engagement_.themes_and_decisions()));
}
grpc::ServerUnaryReactor* EngagementServiceImpl::DeleteDecision(Ctx* c,
                                                                const v1::DeleteDecisionRequest* q,
                                                                google::protobuf::Empty* r) {
  return Unary(
      gate_, c, kRequestLimits, *q, r,
      std::bind_front(&ThemesAndDecisions::DeleteDecision, &engagement_.themes_and_decisions()));
}
// Counts only (no personal data), the same for every caller who may read them: kept per store
// generation as GetActivity is, when no registry is configured. With a registry the reply joins
// registered-patient figures that age and go stale by the registry client's policy, not by the
// store: it is then computed per call (version UNAVAILABLE: CachedUnary answers without the
// cache), from the store's part kept by Aggregates (brought up to date by each group of
// responses; its bytes sent as they are kept).
grpc::ServerUnaryReactor* EngagementServiceImpl::GetActivityAggregates(Ctx* c,
                                                                       const grpc::ByteBuffer* q,
                                                                       grpc::ByteBuffer* r) {
  return runtime::CachedUnary<v1::GetActivityAggregatesRequest,
                              runtime::SerializedReply<v1::ActivityAggregates>>(
      gate_, c, kRequestLimits, *q, r, replies_,
      [this]() -> absl::StatusOr<uint64_t> {
        if (registry_configured_) {
          return absl::UnavailableError("registry figures are not kept per store generation");
        }
        return engagement_.store().generation();
      },
      runtime::SameReplyForEveryCaller,
      std::bind_front(&Aggregates::GetActivityAggregatesBytes, &engagement_.aggregates()));
}
grpc::ServerUnaryReactor* EngagementServiceImpl::GetYouSaidWeDid(
    Ctx* c, const v1::GetYouSaidWeDidRequest* q, v1::YouSaidWeDid* r) {
  return Unary(gate_, c, kRequestLimits, *q, r,
               std::bind_front(&Aggregates::GetYouSaidWeDid, &engagement_.aggregates()));
}

}  // namespace dorset::engagement
