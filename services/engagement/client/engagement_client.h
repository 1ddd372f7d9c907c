// The engagement client library: one typed method per unary RPC of
// dorset.engagement.v1.EngagementService (and a typed reader for each server stream), each
// returning absl::StatusOr with the service's google.rpc details kept as payloads. Used by
// dorsetctl and the web console; other processes reach the engagement service only through this and
// its protos (docs/architecture.md).
//
//   ASSIGN_OR_RETURN(auto client, engagement::EngagementClient::Create({.target =
//   "127.0.0.1:50053"})); ASSIGN_OR_RETURN(v1::..., client->Get...(request));
//
// A call may carry its caller's own bearer token (CallOptions), which the service checks with
// the same permission table as any other call. Thread-safe: one client per process is enough.
#ifndef DORSET_SERVICES_ENGAGEMENT_CLIENT_ENGAGEMENT_CLIENT_H_
#define DORSET_SERVICES_ENGAGEMENT_CLIENT_ENGAGEMENT_CLIENT_H_

#include <memory>

#include "absl/status/statusor.h"
#include "dorset/engagement/v1/engagement.grpc.pb.h"
#include "google/protobuf/empty.pb.h"
#include "runtime/client/service_client.h"

namespace dorset::engagement {

class EngagementClient {
 public:
  // A channel to options.target (insecure when options.credentials is null).
  static std::unique_ptr<EngagementClient> Create(runtime::ServiceClientOptions options);
  // Over an existing channel (tests, in-process use); options.target is not used.
  static std::unique_ptr<EngagementClient> ForChannel(std::shared_ptr<grpc::Channel> channel,
                                                      runtime::ServiceClientOptions options = {});

  absl::StatusOr<v1::Stakeholder> CreateStakeholder(const v1::CreateStakeholderRequest& request,
                                                    const runtime::CallOptions& call = {});
  absl::StatusOr<v1::Stakeholder> GetStakeholder(const v1::GetStakeholderRequest& request,
                                                 const runtime::CallOptions& call = {});
  absl::StatusOr<v1::ListStakeholdersResponse> ListStakeholders(
      const v1::ListStakeholdersRequest& request, const runtime::CallOptions& call = {});
  absl::StatusOr<v1::Stakeholder> UpdateStakeholder(const v1::UpdateStakeholderRequest& request,
                                                    const runtime::CallOptions& call = {});
  absl::StatusOr<v1::Stakeholder> EraseStakeholder(const v1::EraseStakeholderRequest& request,
                                                   const runtime::CallOptions& call = {});
  absl::StatusOr<v1::Activity> CreateActivity(const v1::CreateActivityRequest& request,
                                              const runtime::CallOptions& call = {});
  absl::StatusOr<v1::Activity> GetActivity(const v1::GetActivityRequest& request,
                                           const runtime::CallOptions& call = {});
  absl::StatusOr<v1::ListActivitiesResponse> ListActivities(
      const v1::ListActivitiesRequest& request, const runtime::CallOptions& call = {});
  absl::StatusOr<v1::Activity> UpdateActivity(const v1::UpdateActivityRequest& request,
                                              const runtime::CallOptions& call = {});
  absl::StatusOr<v1::Activity> OpenActivity(const v1::OpenActivityRequest& request,
                                            const runtime::CallOptions& call = {});
  absl::StatusOr<v1::Activity> CloseActivity(const v1::CloseActivityRequest& request,
                                             const runtime::CallOptions& call = {});
  absl::StatusOr<v1::Activity> PublishOutcome(const v1::PublishOutcomeRequest& request,
                                              const runtime::CallOptions& call = {});
  absl::StatusOr<google::protobuf::Empty> DeleteActivity(const v1::DeleteActivityRequest& request,
                                                         const runtime::CallOptions& call = {});
  absl::StatusOr<v1::Theme> CreateTheme(const v1::CreateThemeRequest& request,
                                        const runtime::CallOptions& call = {});
  absl::StatusOr<v1::Theme> GetTheme(const v1::GetThemeRequest& request,
                                     const runtime::CallOptions& call = {});
  absl::StatusOr<v1::ListThemesResponse> ListThemes(const v1::ListThemesRequest& request,
                                                    const runtime::CallOptions& call = {});
  absl::StatusOr<v1::Theme> UpdateTheme(const v1::UpdateThemeRequest& request,
                                        const runtime::CallOptions& call = {});
  absl::StatusOr<google::protobuf::Empty> DeleteTheme(const v1::DeleteThemeRequest& request,
                                                      const runtime::CallOptions& call = {});
  absl::StatusOr<v1::Response> CreateResponse(const v1::CreateResponseRequest& request,
                                              const runtime::CallOptions& call = {});
  absl::StatusOr<v1::Response> GetResponse(const v1::GetResponseRequest& request,
                                           const runtime::CallOptions& call = {});
  absl::StatusOr<v1::ListResponsesResponse> ListResponses(const v1::ListResponsesRequest& request,
                                                          const runtime::CallOptions& call = {});
  absl::StatusOr<v1::Response> UpdateResponse(const v1::UpdateResponseRequest& request,
                                              const runtime::CallOptions& call = {});
  runtime::ServerStream<v1::ExportResponsesChunk> ExportResponses(
      const v1::ExportResponsesRequest& request, const runtime::CallOptions& call = {});
  absl::StatusOr<v1::Decision> CreateDecision(const v1::CreateDecisionRequest& request,
                                              const runtime::CallOptions& call = {});
  absl::StatusOr<v1::Decision> GetDecision(const v1::GetDecisionRequest& request,
                                           const runtime::CallOptions& call = {});
  absl::StatusOr<v1::ListDecisionsResponse> ListDecisions(const v1::ListDecisionsRequest& request,
                                                          const runtime::CallOptions& call = {});
  absl::StatusOr<v1::Decision> UpdateDecision(const v1::UpdateDecisionRequest& request,
                                              const runtime::CallOptions& call = {});
  absl::StatusOr<google::protobuf::Empty> DeleteDecision(const v1::DeleteDecisionRequest& request,
                                                         const runtime::CallOptions& call = {});
  absl::StatusOr<v1::ActivityAggregates> GetActivityAggregates(
      const v1::GetActivityAggregatesRequest& request, const runtime::CallOptions& call = {});
  absl::StatusOr<v1::YouSaidWeDid> GetYouSaidWeDid(const v1::GetYouSaidWeDidRequest& request,
                                                   const runtime::CallOptions& call = {});
  absl::StatusOr<v1::Decision> UpdateDecisionDelivery(
      const v1::UpdateDecisionDeliveryRequest& request, const runtime::CallOptions& call = {});
  absl::StatusOr<v1::ListDeliveryChangesResponse> ListDeliveryChanges(
      const v1::ListDeliveryChangesRequest& request, const runtime::CallOptions& call = {});
  absl::StatusOr<v1::RetentionPreview> PreviewRetention(const v1::PreviewRetentionRequest& request,
                                                        const runtime::CallOptions& call = {});
  absl::StatusOr<v1::RetentionRun> RunRetention(const v1::RunRetentionRequest& request,
                                                const runtime::CallOptions& call = {});
  runtime::ServerStream<v1::CsvChunk> ExportCsv(const v1::ExportCsvRequest& request,
                                                const runtime::CallOptions& call = {});
  absl::StatusOr<v1::ConsultationReport> GetConsultationReport(
      const v1::GetConsultationReportRequest& request, const runtime::CallOptions& call = {});
  absl::StatusOr<v1::ThemeCodingPreview> PreviewThemeCoding(
      const v1::PreviewThemeCodingRequest& request, const runtime::CallOptions& call = {});
  absl::StatusOr<v1::ThemeCoding> ApplyThemeCoding(const v1::ApplyThemeCodingRequest& request,
                                                   const runtime::CallOptions& call = {});
  absl::StatusOr<v1::ListThemeCodingsResponse> ListThemeCodings(
      const v1::ListThemeCodingsRequest& request, const runtime::CallOptions& call = {});

  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

 private:
  EngagementClient(std::shared_ptr<grpc::Channel> channel, runtime::ServiceClientOptions options);

  runtime::ServiceClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::EngagementService::Stub> stub_;
};

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_CLIENT_ENGAGEMENT_CLIENT_H_
