// The gRPC face of the finance service: each handler admits the caller through the CallGate
// and delegates to the plan repository, the ledger or the reports. Postings are finished
// asynchronously by the group committer (the handler returns its reactor unfinished).
#ifndef DORSET_SERVICES_FINANCE_FINANCE_SERVICE_H_
#define DORSET_SERVICES_FINANCE_FINANCE_SERVICE_H_

#include <memory>
#include <span>

#include "dorset/finance/v1/finance.grpc.pb.h"
#include "runtime/cache/versioned_response_cache.h"
#include "runtime/server/call_gate.h"
#include "services/finance/api/plan_api.h"
#include "services/finance/storage/ledger.h"
#include "services/finance/storage/periods.h"
#include "services/finance/storage/plan_rows.h"
#include "services/finance/storage/posting_committer.h"
#include "services/finance/storage/store.h"
#include "services/registry/client/registry_client.h"

namespace dorset::finance {

// GetReport's and GetScheme's replies kept per data version: a report is a few KiB.
inline constexpr size_t kReportCacheBytes = 16 << 20;

// GetReport and GetScheme are raw methods served from a response cache
// (runtime/server/cached_unary.h).
class FinanceServiceImpl final : public v1::FinanceService::WithRawCallbackMethod_GetReport<
                                     v1::FinanceService::WithRawCallbackMethod_GetScheme<
                                         v1::FinanceService::CallbackService>> {
 public:
  // `registry` may be null (no registry_target configured): per-head figures are then refused.
  FinanceServiceImpl(runtime::CallGate& gate, FinanceStore& store, runtime::PageTokenCodec codec,
                     PostingCommitter& committer, MonthClose& month_close,
                     registry::RegistryClient* registry, prometheus::Registry* metrics = nullptr);

  grpc::ServerUnaryReactor* CreatePlan(grpc::CallbackServerContext* context,
                                       const v1::CreatePlanRequest* request,
                                       v1::Plan* response) override;
  grpc::ServerUnaryReactor* GetPlan(grpc::CallbackServerContext* context,
                                    const v1::GetPlanRequest* request, v1::Plan* response) override;
  grpc::ServerUnaryReactor* ListPlans(grpc::CallbackServerContext* context,
                                      const v1::ListPlansRequest* request,
                                      v1::ListPlansResponse* response) override;
  grpc::ServerUnaryReactor* CreateProgramme(grpc::CallbackServerContext* context,
                                            const v1::CreateProgrammeRequest* request,
                                            v1::Programme* response) override;
  grpc::ServerUnaryReactor* GetProgramme(grpc::CallbackServerContext* context,
                                         const v1::GetProgrammeRequest* request,
                                         v1::Programme* response) override;
  grpc::ServerUnaryReactor* ListProgrammes(grpc::CallbackServerContext* context,
                                           const v1::ListProgrammesRequest* request,
                                           v1::ListProgrammesResponse* response) override;
  grpc::ServerUnaryReactor* CreateScheme(grpc::CallbackServerContext* context,
                                         const v1::CreateSchemeRequest* request,
                                         v1::Scheme* response) override;
  grpc::ServerUnaryReactor* GetScheme(grpc::CallbackServerContext* context,
                                      const grpc::ByteBuffer* request,
                                      grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* ListSchemes(grpc::CallbackServerContext* context,
                                        const v1::ListSchemesRequest* request,
                                        v1::ListSchemesResponse* response) override;
  grpc::ServerUnaryReactor* UpdateScheme(grpc::CallbackServerContext* context,
                                         const v1::UpdateSchemeRequest* request,
                                         v1::Scheme* response) override;
  grpc::ServerUnaryReactor* CloseScheme(grpc::CallbackServerContext* context,
                                        const v1::CloseSchemeRequest* request,
                                        v1::Scheme* response) override;
  grpc::ServerUnaryReactor* CreateBudgetLine(grpc::CallbackServerContext* context,
                                             const v1::CreateBudgetLineRequest* request,
                                             v1::BudgetLine* response) override;
  grpc::ServerUnaryReactor* GetBudgetLine(grpc::CallbackServerContext* context,
                                          const v1::GetBudgetLineRequest* request,
                                          v1::BudgetLine* response) override;
  grpc::ServerUnaryReactor* ListBudgetLines(grpc::CallbackServerContext* context,
                                            const v1::ListBudgetLinesRequest* request,
                                            v1::ListBudgetLinesResponse* response) override;
  grpc::ServerUnaryReactor* UpdateBudgetLine(grpc::CallbackServerContext* context,
                                             const v1::UpdateBudgetLineRequest* request,
                                             v1::BudgetLine* response) override;
  grpc::ServerUnaryReactor* CreatePosting(grpc::CallbackServerContext* context,
                                          const v1::CreatePostingRequest* request,
                                          v1::Posting* response) override;
  grpc::ServerUnaryReactor* BatchCreatePostings(grpc::CallbackServerContext* context,
                                                const v1::BatchCreatePostingsRequest* request,
                                                v1::BatchCreatePostingsResponse* response) override;
  grpc::ServerUnaryReactor* GetPosting(grpc::CallbackServerContext* context,
                                       const v1::GetPostingRequest* request,
                                       v1::Posting* response) override;
  grpc::ServerUnaryReactor* ListPostings(grpc::CallbackServerContext* context,
                                         const v1::ListPostingsRequest* request,
                                         v1::ListPostingsResponse* response) override;
  grpc::ServerUnaryReactor* GetReport(grpc::CallbackServerContext* context,
                                      const grpc::ByteBuffer* request,
                                      grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* GetGapTrajectory(grpc::CallbackServerContext* context,
                                             const v1::GetGapTrajectoryRequest* request,
                                             v1::GapTrajectory* response) override;
  grpc::ServerUnaryReactor* GetPerHeadFigures(grpc::CallbackServerContext* context,
                                              const v1::GetPerHeadFiguresRequest* request,
                                              v1::PerHeadFigures* response) override;
  // Month-end close and ledger verification (finance_service_periods.cc).
  grpc::ServerUnaryReactor* GetPeriod(grpc::CallbackServerContext* context,
                                      const v1::GetPeriodRequest* request,
                                      v1::Period* response) override;
  grpc::ServerUnaryReactor* ListPeriods(grpc::CallbackServerContext* context,
                                        const v1::ListPeriodsRequest* request,
                                        v1::ListPeriodsResponse* response) override;
  grpc::ServerUnaryReactor* StartPeriodClose(grpc::CallbackServerContext* context,
                                             const v1::StartPeriodCloseRequest* request,
                                             v1::Period* response) override;
  grpc::ServerUnaryReactor* ClosePeriod(grpc::CallbackServerContext* context,
                                        const v1::ClosePeriodRequest* request,
                                        v1::Period* response) override;
  grpc::ServerUnaryReactor* ReopenPeriod(grpc::CallbackServerContext* context,
                                         const v1::ReopenPeriodRequest* request,
                                         v1::Period* response) override;
  grpc::ServerUnaryReactor* VerifyLedger(grpc::CallbackServerContext* context,
                                         const v1::VerifyLedgerRequest* request,
                                         v1::VerifyLedgerResponse* response) override;

 private:
  // Admits, parses and queues postings; the committer finishes the reactor.
  // `request` and `reply` are the call's (named in its audit event).
  grpc::ServerUnaryReactor* Post(grpc::CallbackServerContext* context,
                                 const google::protobuf::Message& request,
                                 const google::protobuf::Message* reply,
                                 const std::string& request_id,
                                 std::span<const v1::Posting* const> postings, bool single,
                                 std::function<void(std::vector<v1::Posting>)> fill);
  absl::StatusOr<v1::PerHeadFigures> PerHead(const v1::GetPerHeadFiguresRequest& request);
  absl::StatusOr<v1::Report> ReportFor(const v1::GetReportRequest& request);

  runtime::CallGate& gate_;
  FinanceStore& store_;
  SqlPlanStorage plan_storage_;
  PlanApi plans_;  // the plan tree and budget lines: API edge over the domain over plan_storage_
  LedgerReader ledger_;
  PostingCommitter& committer_;
  MonthClose& month_close_;
  registry::RegistryClient* registry_;
  runtime::VersionedResponseCache reports_;
};

}  // namespace dorset::finance

#endif  // DORSET_SERVICES_FINANCE_FINANCE_SERVICE_H_
