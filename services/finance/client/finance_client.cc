// The finance client library (see finance_client.h): each method is one runtime::CallUnary.
#include "services/finance/client/finance_client.h"

namespace dorset::finance {

FinanceClient::FinanceClient(std::shared_ptr<grpc::Channel> channel,
                             runtime::ServiceClientOptions options)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      stub_(v1::FinanceService::NewStub(channel_)) {}

std::unique_ptr<FinanceClient> FinanceClient::Create(runtime::ServiceClientOptions options) {
  std::shared_ptr<grpc::Channel> channel = runtime::MakeServiceChannel(options);
  return ForChannel(std::move(channel), std::move(options));
}

std::unique_ptr<FinanceClient> FinanceClient::ForChannel(std::shared_ptr<grpc::Channel> channel,
                                                         runtime::ServiceClientOptions options) {
  return std::unique_ptr<FinanceClient>(new FinanceClient(std::move(channel), std::move(options)));
}

absl::StatusOr<v1::Plan> FinanceClient::CreatePlan(const v1::CreatePlanRequest& request,
                                                   const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::FinanceService::Stub::CreatePlan, request, options_, call);
}

absl::StatusOr<v1::Plan> FinanceClient::GetPlan(const v1::GetPlanRequest& request,
                                                const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::FinanceService::Stub::GetPlan, request, options_, call);
}

absl::StatusOr<v1::ListPlansResponse> FinanceClient::ListPlans(const v1::ListPlansRequest& request,
                                                               const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::FinanceService::Stub::ListPlans, request, options_, call);
}

absl::StatusOr<v1::Programme> FinanceClient::CreateProgramme(
    const v1::CreateProgrammeRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::FinanceService::Stub::CreateProgramme, request, options_,
                            call);
}

absl::StatusOr<v1::Programme> FinanceClient::GetProgramme(const v1::GetProgrammeRequest& request,
                                                          const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::FinanceService::Stub::GetProgramme, request, options_,
                            call);
}

absl::StatusOr<v1::ListProgrammesResponse> FinanceClient::ListProgrammes(
    const v1::ListProgrammesRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::FinanceService::Stub::ListProgrammes, request, options_,
                            call);
}

absl::StatusOr<v1::Scheme> FinanceClient::CreateScheme(const v1::CreateSchemeRequest& request,
                                                       const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::FinanceService::Stub::CreateScheme, request, options_,
                            call);
}

absl::StatusOr<v1::Scheme> FinanceClient::GetScheme(const v1::GetSchemeRequest& request,
                                                    const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::FinanceService::Stub::GetScheme, request, options_, call);
}

absl::StatusOr<v1::ListSchemesResponse> FinanceClient::ListSchemes(
    const v1::ListSchemesRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::FinanceService::Stub::ListSchemes, request, options_,
                            call);
}

absl::StatusOr<v1::Scheme> FinanceClient::UpdateScheme(const v1::UpdateSchemeRequest& request,
                                                       const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::FinanceService::Stub::UpdateScheme, request, options_,
                            call);
}

absl::StatusOr<v1::Scheme> FinanceClient::CloseScheme(const v1::CloseSchemeRequest& request,
                                                      const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::FinanceService::Stub::CloseScheme, request, options_,
                            call);
}

absl::StatusOr<v1::BudgetLine> FinanceClient::CreateBudgetLine(
    const v1::CreateBudgetLineRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::FinanceService::Stub::CreateBudgetLine, request, options_,
                            call);
}

absl::StatusOr<v1::BudgetLine> FinanceClient::GetBudgetLine(const v1::GetBudgetLineRequest& request,
                                                            const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::FinanceService::Stub::GetBudgetLine, request, options_,
                            call);
}

absl::StatusOr<v1::ListBudgetLinesResponse> FinanceClient::ListBudgetLines(
    const v1::ListBudgetLinesRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::FinanceService::Stub::ListBudgetLines, request, options_,
                            call);
}

absl::StatusOr<v1::BudgetLine> FinanceClient::UpdateBudgetLine(
    const v1::UpdateBudgetLineRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::FinanceService::Stub::UpdateBudgetLine, request, options_,
                            call);
}

absl::StatusOr<v1::Posting> FinanceClient::CreatePosting(const v1::CreatePostingRequest& request,
                                                         const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::FinanceService::Stub::CreatePosting, request, options_,
                            call);
}

absl::StatusOr<v1::BatchCreatePostingsResponse> FinanceClient::BatchCreatePostings(
    const v1::BatchCreatePostingsRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::FinanceService::Stub::BatchCreatePostings, request,
                            options_, call);
}

absl::StatusOr<v1::Posting> FinanceClient::GetPosting(const v1::GetPostingRequest& request,
                                                      const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::FinanceService::Stub::GetPosting, request, options_, call);
}

absl::StatusOr<v1::ListPostingsResponse> FinanceClient::ListPostings(
    const v1::ListPostingsRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::FinanceService::Stub::ListPostings, request, options_,
                            call);
}

absl::StatusOr<v1::Report> FinanceClient::GetReport(const v1::GetReportRequest& request,
                                                    const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::FinanceService::Stub::GetReport, request, options_, call);
}

absl::StatusOr<v1::GapTrajectory> FinanceClient::GetGapTrajectory(
    const v1::GetGapTrajectoryRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::FinanceService::Stub::GetGapTrajectory, request, options_,
                            call);
}

absl::StatusOr<v1::PerHeadFigures> FinanceClient::GetPerHeadFigures(
    const v1::GetPerHeadFiguresRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::FinanceService::Stub::GetPerHeadFigures, request, options_,
                            call);
}

absl::StatusOr<v1::Period> FinanceClient::GetPeriod(const v1::GetPeriodRequest& request,
                                                    const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::FinanceService::Stub::GetPeriod, request, options_, call);
}

absl::StatusOr<v1::ListPeriodsResponse> FinanceClient::ListPeriods(
    const v1::ListPeriodsRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::FinanceService::Stub::ListPeriods, request, options_,
                            call);
}

absl::StatusOr<v1::Period> FinanceClient::StartPeriodClose(
    const v1::StartPeriodCloseRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::FinanceService::Stub::StartPeriodClose, request, options_,
                            call);
}

absl::StatusOr<v1::Period> FinanceClient::ClosePeriod(const v1::ClosePeriodRequest& request,
                                                      const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::FinanceService::Stub::ClosePeriod, request, options_,
                            call);
}

absl::StatusOr<v1::Period> FinanceClient::ReopenPeriod(const v1::ReopenPeriodRequest& request,
                                                       const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::FinanceService::Stub::ReopenPeriod, request, options_,
                            call);
}

absl::StatusOr<v1::VerifyLedgerResponse> FinanceClient::VerifyLedger(
    const v1::VerifyLedgerRequest& request, const runtime::CallOptions& call) {
  return runtime::CallUnary(*stub_, &v1::FinanceService::Stub::VerifyLedger, request, options_,
                            call);
}

}  // namespace dorset::finance
