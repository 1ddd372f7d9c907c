// FinanceServiceImpl's month-end close and ledger verification methods (docs/finance.md
// "Month-end close", "Tamper-evident ledger"): periods as resources
// financialYears/{financial_year}/periods/{month}, the close's custom methods, and VerifyLedger.
#include "absl/strings/str_cat.h"
#include "runtime/server/unary.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "services/finance/calendar.h"
#include "services/finance/finance_service.h"
#include "services/finance/storage/verify.h"
#include "services/finance/time_util.h"

namespace dorset::finance {
namespace {

v1::Period ToProto(const PeriodInfo& info) {
  v1::Period out;
  out.set_name(PeriodName(info.year, info.month));
  out.set_financial_year(FormatFinancialYear(info.year));
  out.set_month(info.month);
  out.set_state(static_cast<v1::Period::State>(info.state));
  if (info.update_micros != 0) SetTimestamp(out.mutable_update_time(), info.update_micros);
  if (info.state == kPeriodClosed && info.seal_id != 0) {
    out.set_closed_by(info.closed_by);
    SetTimestamp(out.mutable_close_time(), info.close_micros);
    if (info.head_posting_id != 0) {
      out.set_sealed_head(absl::StrCat("postings/", info.head_posting_id));
    }
    out.set_sealed_head_hash(info.head_hash);
  }
  return out;
}

}  // namespace

grpc::ServerUnaryReactor* FinanceServiceImpl::GetPeriod(grpc::CallbackServerContext* context,
                                                        const v1::GetPeriodRequest* request,
                                                        v1::Period* response) {
  return runtime::Unary(gate_, context, *request, response,
                        [&](const runtime::Caller&) -> absl::StatusOr<v1::Period> {
                          ASSIGN_OR_RETURN(auto period, ParsePeriodName(request->name(), "name"));
                          ASSIGN_OR_RETURN(PeriodInfo info,
                                           month_close_.Get(period.first, period.second));
                          return ToProto(info);
                        });
}

grpc::ServerUnaryReactor* FinanceServiceImpl::ListPeriods(grpc::CallbackServerContext* context,
                                                          const v1::ListPeriodsRequest* request,
                                                          v1::ListPeriodsResponse* response) {
  return runtime::Unary(
      gate_, context, *request, response,
      [&](const runtime::Caller&) -> absl::StatusOr<v1::ListPeriodsResponse> {
        constexpr std::string_view kPrefix = "financialYears/";
        if (request->parent().rfind(kPrefix, 0) != 0) {
          return runtime::InvalidArgument("parent", "financialYears/{financial_year}");
        }
        ASSIGN_OR_RETURN(int year,
                         ParseFinancialYear(request->parent().substr(kPrefix.size()), "parent"));
        ASSIGN_OR_RETURN(std::vector<PeriodInfo> periods, month_close_.List(year));
        v1::ListPeriodsResponse out;
        for (const PeriodInfo& info : periods) *out.add_periods() = ToProto(info);
        return out;
      });
}

grpc::ServerUnaryReactor* FinanceServiceImpl::StartPeriodClose(
    grpc::CallbackServerContext* context, const v1::StartPeriodCloseRequest* request,
    v1::Period* response) {
  return runtime::Unary(
      gate_, context, *request, response,
      [&](const runtime::Caller& caller) -> absl::StatusOr<v1::Period> {
        ASSIGN_OR_RETURN(auto period, ParsePeriodName(request->name(), "name"));
        ASSIGN_OR_RETURN(PeriodInfo info,
                         month_close_.StartClose(period.first, period.second, caller.principal));
        return ToProto(info);
      });
}

grpc::ServerUnaryReactor* FinanceServiceImpl::ClosePeriod(grpc::CallbackServerContext* context,
                                                          const v1::ClosePeriodRequest* request,
                                                          v1::Period* response) {
  return runtime::Unary(gate_, context, *request, response,
                        [&](const runtime::Caller& caller) -> absl::StatusOr<v1::Period> {
                          ASSIGN_OR_RETURN(auto period, ParsePeriodName(request->name(), "name"));
                          ASSIGN_OR_RETURN(
                              PeriodInfo info,
                              month_close_.Close(period.first, period.second, caller.principal));
                          return ToProto(info);
                        });
}

grpc::ServerUnaryReactor* FinanceServiceImpl::ReopenPeriod(grpc::CallbackServerContext* context,
                                                           const v1::ReopenPeriodRequest* request,
                                                           v1::Period* response) {
  return runtime::Unary(
      gate_, context, *request, response,
      [&](const runtime::Caller& caller) -> absl::StatusOr<v1::Period> {
        ASSIGN_OR_RETURN(auto period, ParsePeriodName(request->name(), "name"));
        ASSIGN_OR_RETURN(PeriodInfo info, month_close_.Reopen(period.first, period.second,
                                                              caller.principal, request->reason()));
        return ToProto(info);
      });
}

grpc::ServerUnaryReactor* FinanceServiceImpl::VerifyLedger(grpc::CallbackServerContext* context,
                                                           const v1::VerifyLedgerRequest* request,
                                                           v1::VerifyLedgerResponse* response) {
  return runtime::Unary(
      gate_, context, *request, response,
      [&](const runtime::Caller&) -> absl::StatusOr<v1::VerifyLedgerResponse> {
        std::optional<int> year;
        if (!request->financial_year().empty()) {
          ASSIGN_OR_RETURN(year, ParseFinancialYear(request->financial_year(), "financial_year"));
        }
        ASSIGN_OR_RETURN(LedgerVerification result,
                         finance::VerifyLedger(store_, month_close_.key(), year));
        v1::VerifyLedgerResponse out;
        out.set_ok(result.findings.empty());
        out.set_postings_checked(result.postings_checked);
        out.set_seals_checked(result.seals_checked);
        if (result.first_mismatch != 0) {
          out.set_first_mismatch(absl::StrCat("postings/", result.first_mismatch));
        }
        for (const LedgerFinding& f : result.findings) {
          v1::LedgerFinding* finding = out.add_findings();
          if (f.posting_id != 0) finding->set_posting(absl::StrCat("postings/", f.posting_id));
          finding->set_period(f.period);
          finding->set_problem(f.problem);
        }
        return out;
      });
}

}  // namespace dorset::finance
