// The finance client library: one typed method per unary RPC of dorset.finance.v1.FinanceService
// (and a typed reader for each server stream), each returning absl::StatusOr with the service's
// google.rpc details kept as payloads. Used by dorsetctl and the web console; other processes
// reach the finance service only through this and its protos (docs/architecture.md).
//
//   ASSIGN_OR_RETURN(auto client, finance::FinanceClient::Create({.target = "127.0.0.1:50052"}));
//   ASSIGN_OR_RETURN(v1::..., client->Get...(request));
//
// A call may carry its caller's own bearer token (CallOptions), which the service checks with
// the same permission table as any other call. Thread-safe: one client per process is enough.
#ifndef DORSET_SERVICES_FINANCE_CLIENT_FINANCE_CLIENT_H_
#define DORSET_SERVICES_FINANCE_CLIENT_FINANCE_CLIENT_H_

#include <memory>

#include "absl/status/statusor.h"
#include "dorset/finance/v1/finance.grpc.pb.h"
#include "google/protobuf/empty.pb.h"
#include "runtime/client/service_client.h"

namespace dorset::finance {

class FinanceClient {
 public:
  // A channel to options.target (insecure when options.credentials is null).
  static std::unique_ptr<FinanceClient> Create(runtime::ServiceClientOptions options);
  // Over an existing channel (tests, in-process use); options.target is not used.
  static std::unique_ptr<FinanceClient> ForChannel(std::shared_ptr<grpc::Channel> channel,
                                                   runtime::ServiceClientOptions options = {});

  absl::StatusOr<v1::Plan> CreatePlan(const v1::CreatePlanRequest& request,
                                      const runtime::CallOptions& call = {});
  absl::StatusOr<v1::Plan> GetPlan(const v1::GetPlanRequest& request,
                                   const runtime::CallOptions& call = {});
  absl::StatusOr<v1::ListPlansResponse> ListPlans(const v1::ListPlansRequest& request,
                                                  const runtime::CallOptions& call = {});
  absl::StatusOr<v1::Programme> CreateProgramme(const v1::CreateProgrammeRequest& request,
                                                const runtime::CallOptions& call = {});
  absl::StatusOr<v1::Programme> GetProgramme(const v1::GetProgrammeRequest& request,
                                             const runtime::CallOptions& call = {});
  absl::StatusOr<v1::ListProgrammesResponse> ListProgrammes(
      const v1::ListProgrammesRequest& request, const runtime::CallOptions& call = {});
  absl::StatusOr<v1::Scheme> CreateScheme(const v1::CreateSchemeRequest& request,
                                          const runtime::CallOptions& call = {});
  absl::StatusOr<v1::Scheme> GetScheme(const v1::GetSchemeRequest& request,
                                       const runtime::CallOptions& call = {});
  absl::StatusOr<v1::ListSchemesResponse> ListSchemes(const v1::ListSchemesRequest& request,
                                                      const runtime::CallOptions& call = {});
  absl::StatusOr<v1::Scheme> UpdateScheme(const v1::UpdateSchemeRequest& request,
                                          const runtime::CallOptions& call = {});
  absl::StatusOr<v1::Scheme> CloseScheme(const v1::CloseSchemeRequest& request,
                                         const runtime::CallOptions& call = {});
  absl::StatusOr<v1::BudgetLine> CreateBudgetLine(const v1::CreateBudgetLineRequest& request,
                                                  const runtime::CallOptions& call = {});
  absl::StatusOr<v1::BudgetLine> GetBudgetLine(const v1::GetBudgetLineRequest& request,
                                               const runtime::CallOptions& call = {});
  absl::StatusOr<v1::ListBudgetLinesResponse> ListBudgetLines(
      const v1::ListBudgetLinesRequest& request, const runtime::CallOptions& call = {});
  absl::StatusOr<v1::BudgetLine> UpdateBudgetLine(const v1::UpdateBudgetLineRequest& request,
                                                  const runtime::CallOptions& call = {});
  absl::StatusOr<v1::Posting> CreatePosting(const v1::CreatePostingRequest& request,
                                            const runtime::CallOptions& call = {});
  absl::StatusOr<v1::BatchCreatePostingsResponse> BatchCreatePostings(
      const v1::BatchCreatePostingsRequest& request, const runtime::CallOptions& call = {});
  absl::StatusOr<v1::Posting> GetPosting(const v1::GetPostingRequest& request,
                                         const runtime::CallOptions& call = {});
  absl::StatusOr<v1::ListPostingsResponse> ListPostings(const v1::ListPostingsRequest& request,
                                                        const runtime::CallOptions& call = {});
  absl::StatusOr<v1::Report> GetReport(const v1::GetReportRequest& request,
                                       const runtime::CallOptions& call = {});
  absl::StatusOr<v1::GapTrajectory> GetGapTrajectory(const v1::GetGapTrajectoryRequest& request,
                                                     const runtime::CallOptions& call = {});
  absl::StatusOr<v1::PerHeadFigures> GetPerHeadFigures(const v1::GetPerHeadFiguresRequest& request,
                                                       const runtime::CallOptions& call = {});
  absl::StatusOr<v1::Period> GetPeriod(const v1::GetPeriodRequest& request,
                                       const runtime::CallOptions& call = {});
  absl::StatusOr<v1::ListPeriodsResponse> ListPeriods(const v1::ListPeriodsRequest& request,
                                                      const runtime::CallOptions& call = {});
  absl::StatusOr<v1::Period> StartPeriodClose(const v1::StartPeriodCloseRequest& request,
                                              const runtime::CallOptions& call = {});
  absl::StatusOr<v1::Period> ClosePeriod(const v1::ClosePeriodRequest& request,
                                         const runtime::CallOptions& call = {});
  absl::StatusOr<v1::Period> ReopenPeriod(const v1::ReopenPeriodRequest& request,
                                          const runtime::CallOptions& call = {});
  absl::StatusOr<v1::VerifyLedgerResponse> VerifyLedger(const v1::VerifyLedgerRequest& request,
                                                        const runtime::CallOptions& call = {});

  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

 private:
  FinanceClient(std::shared_ptr<grpc::Channel> channel, runtime::ServiceClientOptions options);

  runtime::ServiceClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::FinanceService::Stub> stub_;
};

}  // namespace dorset::finance

#endif  // DORSET_SERVICES_FINANCE_CLIENT_FINANCE_CLIENT_H_
