// The engagement client library (see engagement_client.h): each method is one runtime::CallUnary.
#include "services/engagement/client/engagement_client.h"

namespace dorset::engagement {

EngagementClient::EngagementClient(std::shared_ptr<grpc::Channel> channel,
                                   runtime::ServiceClientOptions options)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      stub_(v1::EngagementService::NewStub(channel_)) {}

std::unique_ptr<EngagementClient> EngagementClient::Create(runtime::ServiceClientOptions options) {
  std::shared_ptr<grpc::Channel> channel = runtime::MakeServiceChannel(options);
  return ForChannel(std::move(channel), std::move(options));
}

std::unique_ptr<EngagementClient> EngagementClient::ForChannel(
    std::shared_ptr<grpc::Channel> channel, runtime::ServiceClientOptions options) {
  return std::unique_ptr<EngagementClient>(
      new EngagementClient(std::move(channel), std::move(options)));
}

absl::StatusOr<v1::Stakeholder> EngagementClient::CreateStakeholder(
    const v1::CreateStakeholderRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::EngagementService::Stub::CreateStakeholder, request,
                            options_, call);
}

absl::StatusOr<v1::Stakeholder> EngagementClient::GetStakeholder(
    const v1::GetStakeholderRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::EngagementService::Stub::GetStakeholder, request, options_,
                            call);
}

absl::StatusOr<v1::ListStakeholdersResponse> EngagementClient::ListStakeholders(
    const v1::ListStakeholdersRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::EngagementService::Stub::ListStakeholders, request,
                            options_, call);
}

absl::StatusOr<v1::Stakeholder> EngagementClient::UpdateStakeholder(
    const v1::UpdateStakeholderRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::EngagementService::Stub::UpdateStakeholder, request,
                            options_, call);
}

absl::StatusOr<v1::Stakeholder> EngagementClient::EraseStakeholder(
    const v1::EraseStakeholderRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::EngagementService::Stub::EraseStakeholder, request,
                            options_, call);
}

absl::StatusOr<v1::Activity> EngagementClient::CreateActivity(
    const v1::CreateActivityRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::EngagementService::Stub::CreateActivity, request, options_,
                            call);
}

absl::StatusOr<v1::Activity> EngagementClient::GetActivity(const v1::GetActivityRequest& request,
                                                           const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::EngagementService::Stub::GetActivity, request, options_,
                            call);
}

absl::StatusOr<v1::ListActivitiesResponse> EngagementClient::ListActivities(
    const v1::ListActivitiesRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::EngagementService::Stub::ListActivities, request, options_,
                            call);
}

absl::StatusOr<v1::Activity> EngagementClient::UpdateActivity(
    const v1::UpdateActivityRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::EngagementService::Stub::UpdateActivity, request, options_,
                            call);
}

absl::StatusOr<v1::Activity> EngagementClient::OpenActivity(const v1::OpenActivityRequest& request,
                                                            const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::EngagementService::Stub::OpenActivity, request, options_,
                            call);
}

absl::StatusOr<v1::Activity> EngagementClient::CloseActivity(
    const v1::CloseActivityRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::EngagementService::Stub::CloseActivity, request, options_,
                            call);
}

absl::StatusOr<v1::Activity> EngagementClient::PublishOutcome(
    const v1::PublishOutcomeRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::EngagementService::Stub::PublishOutcome, request, options_,
                            call);
}

absl::StatusOr<google::protobuf::Empty> EngagementClient::DeleteActivity(
    const v1::DeleteActivityRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::EngagementService::Stub::DeleteActivity, request, options_,
                            call);
}

absl::StatusOr<v1::Theme> EngagementClient::CreateTheme(const v1::CreateThemeRequest& request,
                                                        const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::EngagementService::Stub::CreateTheme, request, options_,
                            call);
}

absl::StatusOr<v1::Theme> EngagementClient::GetTheme(const v1::GetThemeRequest& request,
                                                     const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::EngagementService::Stub::GetTheme, request, options_,
                            call);
}

absl::StatusOr<v1::ListThemesResponse> EngagementClient::ListThemes(
    const v1::ListThemesRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::EngagementService::Stub::ListThemes, request, options_,
                            call);
}

absl::StatusOr<v1::Theme> EngagementClient::UpdateTheme(const v1::UpdateThemeRequest& request,
                                                        const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::EngagementService::Stub::UpdateTheme, request, options_,
                            call);
}

absl::StatusOr<google::protobuf::Empty> EngagementClient::DeleteTheme(
    const v1::DeleteThemeRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::EngagementService::Stub::DeleteTheme, request, options_,
                            call);
}

absl::StatusOr<v1::Response> EngagementClient::CreateResponse(
    const v1::CreateResponseRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::EngagementService::Stub::CreateResponse, request, options_,
                            call);
}

absl::StatusOr<v1::Response> EngagementClient::GetResponse(const v1::GetResponseRequest& request,
                                                           const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::EngagementService::Stub::GetResponse, request, options_,
                            call);
}

absl::StatusOr<v1::ListResponsesResponse> EngagementClient::ListResponses(
    const v1::ListResponsesRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::EngagementService::Stub::ListResponses, request, options_,
                            call);
}

absl::StatusOr<v1::Response> EngagementClient::UpdateResponse(
    const v1::UpdateResponseRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::EngagementService::Stub::UpdateResponse, request, options_,
                            call);
}

runtime::ServerStream<v1::ExportResponsesChunk> EngagementClient::ExportResponses(
    const v1::ExportResponsesRequest& request, const runtime::CallOptions& call) {
  auto context = runtime::NewCallContext(options_, call);
  auto reader = stub_->ExportResponses(context.get(), request);
  return runtime::ServerStream<v1::ExportResponsesChunk>(std::move(context), std::move(reader));
}

absl::StatusOr<v1::Decision> EngagementClient::CreateDecision(
    const v1::CreateDecisionRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::EngagementService::Stub::CreateDecision, request, options_,
                            call);
}

absl::StatusOr<v1::Decision> EngagementClient::GetDecision(const v1::GetDecisionRequest& request,
                                                           const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::EngagementService::Stub::GetDecision, request, options_,
                            call);
}

absl::StatusOr<v1::ListDecisionsResponse> EngagementClient::ListDecisions(
    const v1::ListDecisionsRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::EngagementService::Stub::ListDecisions, request, options_,
                            call);
}

absl::StatusOr<v1::Decision> EngagementClient::UpdateDecision(
    const v1::UpdateDecisionRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::EngagementService::Stub::UpdateDecision, request, options_,
                            call);
}

absl::StatusOr<google::protobuf::Empty> EngagementClient::DeleteDecision(
    const v1::DeleteDecisionRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::EngagementService::Stub::DeleteDecision, request, options_,
                            call);
}

absl::StatusOr<v1::ActivityAggregates> EngagementClient::GetActivityAggregates(
    const v1::GetActivityAggregatesRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::EngagementService::Stub::GetActivityAggregates, request,
                            options_, call);
}

absl::StatusOr<v1::YouSaidWeDid> EngagementClient::GetYouSaidWeDid(
    const v1::GetYouSaidWeDidRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::EngagementService::Stub::GetYouSaidWeDid, request,
                            options_, call);
}

absl::StatusOr<v1::Decision> EngagementClient::UpdateDecisionDelivery(
    const v1::UpdateDecisionDeliveryRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::EngagementService::Stub::UpdateDecisionDelivery, request,
                            options_, call);
}

absl::StatusOr<v1::ListDeliveryChangesResponse> EngagementClient::ListDeliveryChanges(
    const v1::ListDeliveryChangesRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::EngagementService::Stub::ListDeliveryChanges, request,
                            options_, call);
}

absl::StatusOr<v1::RetentionPreview> EngagementClient::PreviewRetention(
    const v1::PreviewRetentionRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::EngagementService::Stub::PreviewRetention, request,
                            options_, call);
}

absl::StatusOr<v1::RetentionRun> EngagementClient::RunRetention(
    const v1::RunRetentionRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::EngagementService::Stub::RunRetention, request, options_,
                            call);
}

runtime::ServerStream<v1::CsvChunk> EngagementClient::ExportCsv(const v1::ExportCsvRequest& request,
                                                                const runtime::CallOptions& call) {
  auto context = runtime::NewCallContext(options_, call);
  auto reader = stub_->ExportCsv(context.get(), request);
  return runtime::ServerStream<v1::CsvChunk>(std::move(context), std::move(reader));
}

absl::StatusOr<v1::ConsultationReport> EngagementClient::GetConsultationReport(
    const v1::GetConsultationReportRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::EngagementService::Stub::GetConsultationReport, request,
                            options_, call);
}

absl::StatusOr<v1::ThemeCodingPreview> EngagementClient::PreviewThemeCoding(
    const v1::PreviewThemeCodingRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::EngagementService::Stub::PreviewThemeCoding, request,
                            options_, call);
}

absl::StatusOr<v1::ThemeCoding> EngagementClient::ApplyThemeCoding(
    const v1::ApplyThemeCodingRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::EngagementService::Stub::ApplyThemeCoding, request,
                            options_, call);
}

absl::StatusOr<v1::ListThemeCodingsResponse> EngagementClient::ListThemeCodings(
    const v1::ListThemeCodingsRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::EngagementService::Stub::ListThemeCodings, request,
                            options_, call);
}

}  // namespace dorset::engagement
