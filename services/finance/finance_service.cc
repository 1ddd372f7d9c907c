#include "services/finance/finance_service.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "runtime/api/repeated_limits.h"
#include "runtime/server/cached_unary.h"
#include "runtime/server/unary.h"
#include "runtime/status/errors.h"
#include "runtime/status/grpc_status.h"
#include "runtime/status/status_macros.h"
#include "services/finance/calendar.h"
#include "services/finance/per_head.h"
#include "services/finance/report_summary.h"
#include "services/finance/storage/plan_figures.h"
#include "services/finance/storage/report.h"
#include "services/finance/storage/schema.h"
#include "services/finance/time_util.h"

namespace dorset::finance {
namespace {

// The documented caps on the repeated fields of finance requests (docs/finance.md), checked by
// count before any per-item work; update_mask.paths takes runtime::kMaxMaskPaths and postings
// their own limit of 1,000 (posting_input.cc).
constexpr runtime::RepeatedLimit kRequestLimits[] = {
    {"plan.targets", 50},
    {"programme.targets", 50},
    {"scheme.targets", 50},
};

// The plan of a plan singleton's name (AIP-156): "plans/{plan}/<singleton>" -> "plans/{plan}".
absl::StatusOr<std::string> SingletonPlan(const std::string& name, absl::string_view singleton) {
  const std::vector<absl::string_view> parts = absl::StrSplit(name, '/');
  if (parts.size() != 3 || parts[0] != "plans" || parts[1].empty() || parts[2] != singleton) {
    return runtime::InvalidArgument(
        "name", absl::StrCat("must be plans/{plan}/", singleton, ", not \"", name, "\""));
  }
  return absl::StrCat("plans/", parts[1]);
}

// A grouping this server knows (an unknown number is refused, not reported as one group).
absl::Status CheckGrouping(int group_by) {
  if (!v1::SchemeGrouping_IsValid(group_by)) {
    return runtime::InvalidArgument("group_by",
                                    "RECURRENCE, MATURITY, SENIOR_RESPONSIBLE_OWNER or unset");
  }
  return absl::OkStatus();
}

}  // namespace

FinanceServiceImpl::FinanceServiceImpl(runtime::CallGate& gate, FinanceStore& store,
                                       runtime::PageTokenCodec codec, PostingCommitter& committer,
                                       MonthClose& month_close, registry::RegistryClient* registry,
                                       prometheus::Registry* metrics)
    : gate_(gate),
      store_(store),
      plan_storage_(store),
      plans_(plan_storage_, codec),
      ledger_(store, codec),
      committer_(committer),
      month_close_(month_close),
      registry_(registry),
      reports_("finance", kReportCacheBytes, metrics) {
  runtime::RegisterRawMethod("/dorset.finance.v1.FinanceService/GetReport",
                             v1::GetReportRequest::default_instance());
  runtime::RegisterRawMethod("/dorset.finance.v1.FinanceService/GetScheme",
                             v1::GetSchemeRequest::default_instance());
}

grpc::ServerUnaryReactor* FinanceServiceImpl::CreatePlan(grpc::CallbackServerContext* context,
                                                         const v1::CreatePlanRequest* request,
                                                         v1::Plan* response) {
  return runtime::Unary(gate_, context, kRequestLimits, *request, response,
                        [&] { return plans_.CreatePlan(*request); });
}
grpc::ServerUnaryReactor* FinanceServiceImpl::GetPlan(grpc::CallbackServerContext* context,
                                                      const v1::GetPlanRequest* request,
                                                      v1::Plan* response) {
  return runtime::Unary(gate_, context, *request, response,
                        [&] { return plans_.GetPlan(request->name()); });
}
grpc::ServerUnaryReactor* FinanceServiceImpl::ListPlans(grpc::CallbackServerContext* context,
                                                        const v1::ListPlansRequest* request,
                                                        v1::ListPlansResponse* response) {
  return runtime::Unary(gate_, context, *request, response,
                        [&] { return plans_.ListPlans(*request); });
}
grpc::ServerUnaryReactor* FinanceServiceImpl::CreateProgramme(
    grpc::CallbackServerContext* context, const v1::CreateProgrammeRequest* request,
    v1::Programme* response) {
  return runtime::Unary(gate_, context, kRequestLimits, *request, response,
                        [&] { return plans_.CreateProgramme(*request); });
}
grpc::ServerUnaryReactor* FinanceServiceImpl::GetProgramme(grpc::CallbackServerContext* context,
                                                           const v1::GetProgrammeRequest* request,
                                                           v1::Programme* response) {
  return runtime::Unary(gate_, context, *request, response,
                        [&] { return plans_.GetProgramme(request->name()); });
}
grpc::ServerUnaryReactor* FinanceServiceImpl::ListProgrammes(
    grpc::CallbackServerContext* context, const v1::ListProgrammesRequest* request,
    v1::ListProgrammesResponse* response) {
  return runtime::Unary(gate_, context, *request, response,
                        [&] { return plans_.ListProgrammes(*request); });
}
grpc::ServerUnaryReactor* FinanceServiceImpl::CreateScheme(grpc::CallbackServerContext* context,
                                                           const v1::CreateSchemeRequest* request,
                                                           v1::Scheme* response) {
  return runtime::Unary(gate_, context, kRequestLimits, *request, response,
                        [&] { return plans_.CreateScheme(*request); });
}
// Kept per plan generation (FinanceStore::plan_generation): a scheme is the same for every caller
// who may read it, every write that could change it raises that generation before it is
// acknowledged, and a posting group, which changes no scheme, does not (issue 16: in the mixed
// workload every posting group dropped the scheme's reply).
grpc::ServerUnaryReactor* FinanceServiceImpl::GetScheme(grpc::CallbackServerContext* context,
                                                        const grpc::ByteBuffer* request,
                                                        grpc::ByteBuffer* response) {
  return runtime::CachedUnary<v1::GetSchemeRequest, v1::Scheme>(
      gate_, context, *request, response, reports_,
      [this]() -> absl::StatusOr<uint64_t> { return store_.plan_generation(); },
      runtime::SameReplyForEveryCaller,
      [this](const v1::GetSchemeRequest& scheme_request) {
        return plans_.GetScheme(scheme_request.name());
      });
}
grpc::ServerUnaryReactor* FinanceServiceImpl::ListSchemes(grpc::CallbackServerContext* context,
                                                          const v1::ListSchemesRequest* request,
                                                          v1::ListSchemesResponse* response) {
  return runtime::Unary(gate_, context, *request, response,
                        [&] { return plans_.ListSchemes(*request); });
}
grpc::ServerUnaryReactor* FinanceServiceImpl::UpdateScheme(grpc::CallbackServerContext* context,
                                                           const v1::UpdateSchemeRequest* request,
                                                           v1::Scheme* response) {
  return runtime::Unary(gate_, context, kRequestLimits, *request, response,
                        [&] { return plans_.UpdateScheme(*request); });
}
grpc::ServerUnaryReactor* FinanceServiceImpl::CloseScheme(grpc::CallbackServerContext* context,
                                                          const v1::CloseSchemeRequest* request,
                                                          v1::Scheme* response) {
  return runtime::Unary(gate_, context, *request, response,
                        [&] { return plans_.CloseScheme(*request); });
}
grpc::ServerUnaryReactor* FinanceServiceImpl::CreateBudgetLine(
    grpc::CallbackServerContext* context, const v1::CreateBudgetLineRequest* request,
    v1::BudgetLine* response) {
  return runtime::Unary(gate_, context, *request, response,
                        [&] { return plans_.CreateBudgetLine(*request); });
}
grpc::ServerUnaryReactor* FinanceServiceImpl::GetBudgetLine(grpc::CallbackServerContext* context,
                                                            const v1::GetBudgetLineRequest* request,
                                                            v1::BudgetLine* response) {
  return runtime::Unary(gate_, context, *request, response,
                        [&] { return plans_.GetBudgetLine(request->name()); });
}
grpc::ServerUnaryReactor* FinanceServiceImpl::ListBudgetLines(
    grpc::CallbackServerContext* context, const v1::ListBudgetLinesRequest* request,
    v1::ListBudgetLinesResponse* response) {
  return runtime::Unary(gate_, context, *request, response,
                        [&] { return plans_.ListBudgetLines(*request); });
}
grpc::ServerUnaryReactor* FinanceServiceImpl::UpdateBudgetLine(
    grpc::CallbackServerContext* context, const v1::UpdateBudgetLineRequest* request,
    v1::BudgetLine* response) {
  return runtime::Unary(gate_, context, kRequestLimits, *request, response,
                        [&] { return plans_.UpdateBudgetLine(*request); });
}

grpc::ServerUnaryReactor* FinanceServiceImpl::Post(
    grpc::CallbackServerContext* context, const google::protobuf::Message& request,
    const google::protobuf::Message* reply, const std::string& request_id,
    std::span<const v1::Posting* const> postings, bool single,
    std::function<void(std::vector<v1::Posting>)> fill) {
  const runtime::UnaryHandle call(context, &request, reply);
  absl::StatusOr<runtime::Caller> caller = call.Admit(gate_);
  if (!caller.ok()) return call.Finish(runtime::ToGrpcStatus(caller.status()));
  absl::StatusOr<PostingBatch> batch =
      ParsePostings(request_id, caller->principal, postings, single);
  if (!batch.ok()) return call.Finish(runtime::ToGrpcStatus(batch.status()));
  // The request and response outlive this handler: gRPC keeps them until Finish.
  // The call's audit event goes into the group's transaction (one sync; audit_outbox.h).
  committer_.Submit(
      PostingJob{*std::move(batch),
                 [call, fill = std::move(fill)](absl::StatusOr<std::vector<v1::Posting>> result) {
                   if (result.ok()) fill(*std::move(result));
                   call.Finish(runtime::ToGrpcStatus(result.status()));
                 },
                 {},
                 call.Outboxed(),
                 single});
  return call.reactor();
}

grpc::ServerUnaryReactor* FinanceServiceImpl::CreatePosting(grpc::CallbackServerContext* context,
                                                            const v1::CreatePostingRequest* request,
                                                            v1::Posting* response) {
  // The request's posting itself, not a copy (the request outlives the call's parsing).
  const v1::Posting* const one[] = {&request->posting()};
  return Post(context, *request, response, request->request_id(), one, /*single=*/true,
              [response](std::vector<v1::Posting> postings) {
                if (!postings.empty()) *response = std::move(postings.front());
              });
}

grpc::ServerUnaryReactor* FinanceServiceImpl::BatchCreatePostings(
    grpc::CallbackServerContext* context, const v1::BatchCreatePostingsRequest* request,
    v1::BatchCreatePostingsResponse* response) {
  return Post(context, *request, response, request->request_id(),
              std::span<const v1::Posting* const>(request->postings().data(),
                                                  static_cast<size_t>(request->postings().size())),
              /*single=*/false, [response](std::vector<v1::Posting> postings) {
                for (v1::Posting& p : postings) *response->add_postings() = std::move(p);
              });
}

grpc::ServerUnaryReactor* FinanceServiceImpl::GetPosting(grpc::CallbackServerContext* context,
                                                         const v1::GetPostingRequest* request,
                                                         v1::Posting* response) {
  return runtime::Unary(gate_, context, *request, response,
                        [&] { return ledger_.Get(request->name()); });
}
grpc::ServerUnaryReactor* FinanceServiceImpl::ListPostings(grpc::CallbackServerContext* context,
                                                           const v1::ListPostingsRequest* request,
                                                           v1::ListPostingsResponse* response) {
  return runtime::Unary(gate_, context, *request, response, [&] { return ledger_.List(*request); });
}

// Replies are kept per store generation (FinanceStore::generation, taken before the report is
// read): this process's writes raise it before they are acknowledged, other replicas' writes
// when the DataVersionFollower sees the database's data version move (notified at their
// commit). A report is the same for every caller who may read it. A reply rebuilt after a
// posting group starts from the plan's figures the group brought up to date (PlanFigures), not
// from a read of the plan.
grpc::ServerUnaryReactor* FinanceServiceImpl::GetReport(grpc::CallbackServerContext* context,
                                                        const grpc::ByteBuffer* request,
                                                        grpc::ByteBuffer* response) {
  return runtime::CachedUnary<v1::GetReportRequest, v1::Report>(
      gate_, context, *request, response, reports_,
      [this]() -> absl::StatusOr<uint64_t> { return store_.generation(); },
      runtime::SameReplyForEveryCaller,
      [this](const v1::GetReportRequest& report_request) { return ReportFor(report_request); });
}

absl::StatusOr<v1::Report> FinanceServiceImpl::ReportFor(const v1::GetReportRequest& request) {
  ASSIGN_OR_RETURN(std::string plan, SingletonPlan(request.name(), "report"));
  ASSIGN_OR_RETURN(int year, ParseFinancialYear(request.financial_year(), "financial_year"));
  RETURN_IF_ERROR(CheckMonth(request.month(), "month"));
  ASSIGN_OR_RETURN(RagBasisPoints thresholds, ResolveThresholds(request.thresholds()));
  ASSIGN_OR_RETURN(ForecastQuality quality, ResolveForecastQuality(request.forecast_quality()));
  RETURN_IF_ERROR(CheckGrouping(request.group_by()));
  // A closed month answers with the report stored at its close (byte for byte the same).
  ASSIGN_OR_RETURN(std::optional<v1::Report> closed,
                   month_close_.ClosedReport(plan, year, request.month(), request.thresholds()));
  v1::Report report;
  if (closed) {
    report = *std::move(closed);
  } else {
    // The plan's figures kept across posting groups (plan_figures.h): no read of the plan
    // after each group.
    ASSIGN_OR_RETURN(std::shared_ptr<const PlanData> data, store_.figures().Load(plan, year));
    ASSIGN_OR_RETURN(report, BuildReport(*data, year, request.month(), thresholds));
  }
  // Which months are closed: only M1..month, so a closed month's answer never changes when
  // later months close.
  ASSIGN_OR_RETURN(auto states, month_close_.States(year));
  report.set_period_state(static_cast<v1::Period::State>(states[request.month() - 1]));
  for (int m = 1; m <= request.month(); ++m) {
    if (states[m - 1] == kPeriodClosed) report.add_closed_months(m);
  }
  const bool previous_closed = request.month() > 1 && states[request.month() - 2] == kPeriodClosed;
  // Last month's outturn as it was reported: the stored report once that month is closed
  // (a closed month's report, whose previous month is closed too, so stays the same bytes).
  if (previous_closed) {
    ASSIGN_OR_RETURN(
        std::optional<v1::Report> previous,
        month_close_.ClosedReport(plan, year, request.month() - 1, request.thresholds()));
    if (previous) {
      absl::flat_hash_map<std::string, int64_t> outturns;
      for (const v1::ReportLine& line : previous->lines()) {
        outturns[line.node()] = line.forecast_outturn().pence();
      }
      for (v1::ReportLine& line : *report.mutable_lines()) {
        auto it = outturns.find(line.node());
        if (line.kind() == v1::NODE_KIND_SCHEME && it != outturns.end()) {
          line.mutable_previous_forecast_outturn()->set_pence(it->second);
        }
      }
    }
  }
  RETURN_IF_ERROR(SummariseReport(report, request.group_by(), thresholds, quality));
  return report;
}

grpc::ServerUnaryReactor* FinanceServiceImpl::GetGapTrajectory(
    grpc::CallbackServerContext* context, const v1::GetGapTrajectoryRequest* request,
    v1::GapTrajectory* response) {
  return runtime::Unary(
      gate_, context, *request, response, [&]() -> absl::StatusOr<v1::GapTrajectory> {
        ASSIGN_OR_RETURN(std::string plan, SingletonPlan(request->name(), "gapTrajectory"));
        RETURN_IF_ERROR(CheckGrouping(request->group_by()));
        std::optional<std::pair<int, int>> as_of;
        if (!request->as_of_financial_year().empty() || request->as_of_month() != 0) {
          ASSIGN_OR_RETURN(int year, ParseFinancialYear(request->as_of_financial_year(),
                                                        "as_of_financial_year"));
          RETURN_IF_ERROR(CheckMonth(request->as_of_month(), "as_of_month"));
          as_of = std::make_pair(year, request->as_of_month());
        }
        ASSIGN_OR_RETURN(PlanData data, LoadPlanData(store_, plan, std::nullopt));
        return BuildGapTrajectory(data, as_of, request->group_by());
      });
}

grpc::ServerUnaryReactor* FinanceServiceImpl::GetPerHeadFigures(
    grpc::CallbackServerContext* context, const v1::GetPerHeadFiguresRequest* request,
    v1::PerHeadFigures* response) {
  return runtime::Unary(gate_, context, *request, response, [&] { return PerHead(*request); });
}

absl::StatusOr<v1::PerHeadFigures> FinanceServiceImpl::PerHead(
    const v1::GetPerHeadFiguresRequest& request) {
  ASSIGN_OR_RETURN(std::string plan, SingletonPlan(request.name(), "perHeadFigures"));
  ASSIGN_OR_RETURN(int year, ParseFinancialYear(request.financial_year(), "financial_year"));
  if (registry_ == nullptr) {
    return runtime::FailedPrecondition("CONFIG", "registry_target",
                                       "per-head figures need the registry: set registry_target");
  }
  ASSIGN_OR_RETURN(PlanData data, LoadPlanData(store_, plan, year));
  std::vector<ScopedAmount> savings;
  for (const PlanNode& node : data.nodes) {
    if (node.kind != kNodeScheme) continue;
    auto scheme = data.figures.find(node.id);
    if (scheme == data.figures.end()) continue;
    auto for_year = scheme->second.find(year);
    if (for_year == scheme->second.end()) continue;
    // A closed scheme's savings are what it delivered (SettledContribution).
    int64_t target = for_year->second.target;
    if (node.closed) {
      ASSIGN_OR_RETURN(SchemeYear settled, SettledContribution(for_year->second));
      target = settled.target;
    }
    savings.push_back({node.scope, target});
  }
  ASSIGN_OR_RETURN(auto lines, plans_.plans().BudgetByScope(year));
  std::vector<ScopedAmount> budget;
  for (auto& [scope, pence] : lines) budget.push_back({std::move(scope), pence});
  // Registry data follows the cache policy (docs/cache-keys.md): current, or stale and marked.
  registry::Freshness clusters_freshness, localities_freshness;
  ASSIGN_OR_RETURN(std::vector<registry::v1::Cluster> clusters,
                   registry_->ListClusters(&clusters_freshness));
  ASSIGN_OR_RETURN(std::vector<registry::v1::Locality> localities,
                   registry_->ListLocalities(&localities_freshness));
  ASSIGN_OR_RETURN(std::vector<v1::AreaFigures> areas,
                   ComputePerHead(clusters, localities, budget, savings));
  v1::PerHeadFigures out;
  out.set_name(request.name());
  out.set_plan(plan);
  out.set_financial_year(FormatFinancialYear(year));
  for (v1::AreaFigures& area : areas) *out.add_areas() = std::move(area);
  out.set_registry_data_stale(clusters_freshness.stale || localities_freshness.stale);
  const absl::Time as_of = std::min(clusters_freshness.as_of, localities_freshness.as_of);
  SetTimestamp(out.mutable_registry_data_time(), absl::ToUnixMicros(as_of));
  return out;
}

}  // namespace dorset::finance
