// The gRPC face of the engagement service: each handler admits the caller through the CallGate
// and calls the logic in Engagement; CreateResponse goes through the group-commit writer and the
// export is a streaming reactor.
#ifndef DORSET_SERVICES_ENGAGEMENT_API_ENGAGEMENT_SERVICE_H_
#define DORSET_SERVICES_ENGAGEMENT_API_ENGAGEMENT_SERVICE_H_

#include <atomic>

#include "dorset/engagement/v1/engagement.grpc.pb.h"
#include "runtime/cache/versioned_response_cache.h"
#include "runtime/server/call_gate.h"
#include "services/engagement/domain/analysis.h"
#include "services/engagement/domain/delivery.h"
#include "services/engagement/domain/engagement.h"
#include "services/engagement/domain/response_writer.h"
#include "services/engagement/domain/retention.h"
#include "services/engagement/domain/theme_coding.h"

namespace dorset::engagement {

// GetActivity's and GetActivityAggregates' replies kept per store generation: a few KiB each.
inline constexpr size_t kReplyCacheBytes = 16 << 20;

// GetActivity and GetActivityAggregates are raw methods served from a response cache kept per
// store generation (runtime/server/cached_unary.h, EngagementStore::generation), as finance's
// GetReport and GetScheme are.
class EngagementServiceImpl final
    : public v1::EngagementService::WithRawCallbackMethod_GetActivity<
          v1::EngagementService::WithRawCallbackMethod_GetActivityAggregates<
              v1::EngagementService::CallbackService>> {
 public:
  // `registry_configured`: aggregates then join registry figures of their own freshness, so
  // their replies are not kept (the store's part is, per generation: Aggregates).
  EngagementServiceImpl(runtime::CallGate& gate, Engagement& engagement, ResponseWriter& writer,
                        bool registry_configured = false, prometheus::Registry* metrics = nullptr);

  // Ends open exports (server shutdown).
  void StopStreams() { stopping_ = true; }

  using Ctx = grpc::CallbackServerContext;
  grpc::ServerUnaryReactor* CreateStakeholder(Ctx* c, const v1::CreateStakeholderRequest* q,
                                              v1::Stakeholder* r) override;
  grpc::ServerUnaryReactor* GetStakeholder(Ctx* c, const v1::GetStakeholderRequest* q,
                                           v1::Stakeholder* r) override;
  grpc::ServerUnaryReactor* ListStakeholders(Ctx* c, const v1::ListStakeholdersRequest* q,
                                             v1::ListStakeholdersResponse* r) override;
  grpc::ServerUnaryReactor* UpdateStakeholder(Ctx* c, const v1::UpdateStakeholderRequest* q,
                                              v1::Stakeholder* r) override;
  grpc::ServerUnaryReactor* EraseStakeholder(Ctx* c, const v1::EraseStakeholderRequest* q,
                                             v1::Stakeholder* r) override;
  grpc::ServerUnaryReactor* CreateActivity(Ctx* c, const v1::CreateActivityRequest* q,
                                           v1::Activity* r) override;
  grpc::ServerUnaryReactor* GetActivity(Ctx* c, const grpc::ByteBuffer* q,
                                        grpc::ByteBuffer* r) override;
  grpc::ServerUnaryReactor* ListActivities(Ctx* c, const v1::ListActivitiesRequest* q,
                                           v1::ListActivitiesResponse* r) override;
  grpc::ServerUnaryReactor* UpdateActivity(Ctx* c, const v1::UpdateActivityRequest* q,
                                           v1::Activity* r) override;
  grpc::ServerUnaryReactor* OpenActivity(Ctx* c, const v1::OpenActivityRequest* q,
                                         v1::Activity* r) override;
  grpc::ServerUnaryReactor* CloseActivity(Ctx* c, const v1::CloseActivityRequest* q,
                                          v1::Activity* r) override;
  grpc::ServerUnaryReactor* PublishOutcome(Ctx* c, const v1::PublishOutcomeRequest* q,
                                           v1::Activity* r) override;
  grpc::ServerUnaryReactor* DeleteActivity(Ctx* c, const v1::DeleteActivityRequest* q,
                                           google::protobuf::Empty* r) override;
  grpc::ServerUnaryReactor* CreateTheme(Ctx* c, const v1::CreateThemeRequest* q,
                                        v1::Theme* r) override;
  grpc::ServerUnaryReactor* GetTheme(Ctx* c, const v1::GetThemeRequest* q, v1::Theme* r) override;
  grpc::ServerUnaryReactor* ListThemes(Ctx* c, const v1::ListThemesRequest* q,
                                       v1::ListThemesResponse* r) override;
  grpc::ServerUnaryReactor* UpdateTheme(Ctx* c, const v1::UpdateThemeRequest* q,
                                        v1::Theme* r) override;
  grpc::ServerUnaryReactor* DeleteTheme(Ctx* c, const v1::DeleteThemeRequest* q,
                                        google::protobuf::Empty* r) override;
  grpc::ServerUnaryReactor* CreateResponse(Ctx* c, const v1::CreateResponseRequest* q,
                                           v1::Response* r) override;
  grpc::ServerUnaryReactor* GetResponse(Ctx* c, const v1::GetResponseRequest* q,
                                        v1::Response* r) override;
  grpc::ServerUnaryReactor* ListResponses(Ctx* c, const v1::ListResponsesRequest* q,
                                          v1::ListResponsesResponse* r) override;
  grpc::ServerUnaryReactor* UpdateResponse(Ctx* c, const v1::UpdateResponseRequest* q,
                                           v1::Response* r) override;
  grpc::ServerWriteReactor<v1::ExportResponsesChunk>* ExportResponses(
      Ctx* c, const v1::ExportResponsesRequest* q) override;
  grpc::ServerUnaryReactor* CreateDecision(Ctx* c, const v1::CreateDecisionRequest* q,
                                           v1::Decision* r) override;
  grpc::ServerUnaryReactor* GetDecision(Ctx* c, const v1::GetDecisionRequest* q,
                                        v1::Decision* r) override;
  grpc::ServerUnaryReactor* ListDecisions(Ctx* c, const v1::ListDecisionsRequest* q,
                                          v1::ListDecisionsResponse* r) override;
  grpc::ServerUnaryReactor* UpdateDecision(Ctx* c, const v1::UpdateDecisionRequest* q,
                                           v1::Decision* r) override;
  grpc::ServerUnaryReactor* DeleteDecision(Ctx* c, const v1::DeleteDecisionRequest* q,
                                           google::protobuf::Empty* r) override;
  grpc::ServerUnaryReactor* GetActivityAggregates(Ctx* c, const grpc::ByteBuffer* q,
                                                  grpc::ByteBuffer* r) override;
  grpc::ServerUnaryReactor* GetYouSaidWeDid(Ctx* c, const v1::GetYouSaidWeDidRequest* q,
                                            v1::YouSaidWeDid* r) override;

  // Decision delivery, retention, CSV exports, the consultation report and bulk theme coding
  // (engagement_service_outcomes.cc).
  grpc::ServerUnaryReactor* UpdateDecisionDelivery(Ctx* c,
                                                   const v1::UpdateDecisionDeliveryRequest* q,
                                                   v1::Decision* r) override;
  grpc::ServerUnaryReactor* ListDeliveryChanges(Ctx* c, const v1::ListDeliveryChangesRequest* q,
                                                v1::ListDeliveryChangesResponse* r) override;
  grpc::ServerUnaryReactor* PreviewRetention(Ctx* c, const v1::PreviewRetentionRequest* q,
                                             v1::RetentionPreview* r) override;
  grpc::ServerUnaryReactor* RunRetention(Ctx* c, const v1::RunRetentionRequest* q,
                                         v1::RetentionRun* r) override;
  grpc::ServerWriteReactor<v1::CsvChunk>* ExportCsv(Ctx* c, const v1::ExportCsvRequest* q) override;
  grpc::ServerUnaryReactor* GetConsultationReport(Ctx* c, const v1::GetConsultationReportRequest* q,
                                                  v1::ConsultationReport* r) override;
  grpc::ServerUnaryReactor* PreviewThemeCoding(Ctx* c, const v1::PreviewThemeCodingRequest* q,
                                               v1::ThemeCodingPreview* r) override;
  grpc::ServerUnaryReactor* ApplyThemeCoding(Ctx* c, const v1::ApplyThemeCodingRequest* q,
                                             v1::ThemeCoding* r) override;
  grpc::ServerUnaryReactor* ListThemeCodings(Ctx* c, const v1::ListThemeCodingsRequest* q,
                                             v1::ListThemeCodingsResponse* r) override;

 private:
  runtime::CallGate& gate_;
  Engagement& engagement_;
  Analysis analysis_{engagement_};
  ThemeCoder coder_{engagement_};
  Retention retention_{engagement_, engagement_.retention()};
  DecisionDelivery delivery_{engagement_.store(), [this] { return engagement_.Now(); }};
  ResponseWriter& writer_;
  const bool registry_configured_;
  runtime::VersionedResponseCache replies_;
  std::atomic<bool> stopping_{false};
};

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_API_ENGAGEMENT_SERVICE_H_
