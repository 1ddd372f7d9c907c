// dorsetctl finance report|export-report|gap|per-head (finance_report_commands.h).
#include "cli/finance_report_commands.h"

#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/cli_common.h"
#include "cli/finance_output.h"
#include "dorset/finance/v1/finance.grpc.pb.h"
#include "runtime/text/csv_writer.h"
#include "services/finance/client/finance_client.h"

namespace dorset::cli {
// In finance_cli, whose shared pieces (finance_output.h) the commands use.
namespace finance_cli {
namespace {

namespace v1 = dorset::finance::v1;

std::string RagName(v1::Rag rag) {
  switch (rag) {
    case v1::RAG_GREEN:
      return "GREEN";
    case v1::RAG_AMBER:
      return "AMBER";
    case v1::RAG_RED:
      return "RED";
    case v1::RAG_NO_PLAN:
      return "NO_PLAN";
    default:
      return "";
  }
}

// Basis points as a percentage with two decimals, in integers: 9166 -> "91.66".
std::string Percent(int32_t bp) {
  const int64_t v = bp;
  const int64_t magnitude = v < 0 ? -v : v;
  return absl::StrFormat("%s%d.%02d", v < 0 ? "-" : "", magnitude / 100, magnitude % 100);
}

class Reports {
 public:
  explicit Reports(const Connection& connection)
      : client_(
            finance::FinanceClient::ForChannel(connection.channel, ClientOptionsOf(connection))) {}

  int Report(const Args& args, bool csv, Output& out) {
    v1::GetReportRequest request;
    request.set_name(absl::StrCat(args.GetOr("plan", kDefaultPlan), "/report"));
    request.set_financial_year(args.GetOr("year", ""));
    int month = 0;
    if (!absl::SimpleAtoi(args.GetOr("month", ""), &month)) return Usage();
    request.set_month(month);
    int bp = 0;
    if (absl::SimpleAtoi(args.GetOr("green_bp", ""), &bp))
      request.mutable_thresholds()->set_green_min_bp(bp);
    if (absl::SimpleAtoi(args.GetOr("amber_bp", ""), &bp))
      request.mutable_thresholds()->set_amber_min_bp(bp);
    v1::SchemeGrouping group_by = v1::SCHEME_GROUPING_UNSPECIFIED;
    if (!EnumFlag(args, "group_by", &group_by)) return 2;
    request.set_group_by(group_by);
    absl::StatusOr<v1::Report> reply = client_->GetReport(request);
    if (!reply.ok()) return ReportError(reply.status());
    const v1::Report& report = *reply;
    if (csv) {
      runtime::CsvWriter writer(CsvOptionsOf(args));
      writer.Row({"plan", "financial_year", "month", "node", "level", "display_name",
                  "annual_target_gbp", "ytd_plan_gbp", "ytd_actual_gbp", "ytd_variance_gbp",
                  "forecast_outturn_gbp", "outturn_variance_gbp", "delivery_percent", "rag",
                  "closed"});
      for (const auto& l : report.lines()) {
        writer.Text(report.plan()).Text(report.financial_year()).Int(report.month());
        writer.Text(l.node()).Int(l.depth()).Text(l.display_name());
        writer.Number(Pounds(l.annual_target())).Number(Pounds(l.ytd_plan()));
        writer.Number(Pounds(l.ytd_actual())).Number(Pounds(l.ytd_variance()));
        writer.Number(Pounds(l.forecast_outturn())).Number(Pounds(l.outturn_variance()));
        writer.Number(l.rag() == v1::RAG_NO_PLAN ? "" : Percent(l.delivery_bp()));
        writer.Text(RagName(l.rag())).Text(l.closed() ? "yes" : "no").EndRow();
      }
      out.stream() << writer.Take();
      return 0;
    }
    std::cout << report.plan() << "  " << report.financial_year() << "  M" << report.month()
              << "  (green >= " << Percent(report.thresholds().green_min_bp())
              << "%, amber >= " << Percent(report.thresholds().amber_min_bp()) << "%)\n";
    std::cout << absl::StrFormat("%-52s %18s %18s %18s %18s %18s %8s %s\n", "node", "target",
                                 "ytd plan", "ytd actual", "variance", "outturn", "deliv%", "rag");
    for (const auto& l : report.lines()) {
      std::cout << absl::StrFormat(
          "%-52s %18s %18s %18s %18s %18s %8s %s\n",
          std::string(2 * l.depth(), ' ') + l.display_name().substr(0, 48),
          Display(l.annual_target()), Display(l.ytd_plan()), Display(l.ytd_actual()),
          Display(l.ytd_variance()), Display(l.forecast_outturn()),
          l.rag() == v1::RAG_NO_PLAN ? "-" : Percent(l.delivery_bp()), RagName(l.rag()));
    }
    for (const auto& g : report.groups()) {
      std::cout << absl::StrFormat(
          "%-52s %18s %18s %18s %18s %18s %8s %s\n",
          absl::StrCat("[", g.key().empty() ? "(not recorded)" : g.key(), ", ", g.schemes(),
                       " schemes]"),
          Display(g.annual_target()), Display(g.ytd_plan()), Display(g.ytd_actual()),
          Display(g.ytd_variance()), Display(g.forecast_outturn()),
          g.rag() == v1::RAG_NO_PLAN ? "-" : Percent(g.delivery_bp()), RagName(g.rag()));
    }
    std::cout << "unidentified: " << Display(report.unidentified_target()) << "\n";
    for (const auto& f : report.forecast_flags()) {
      std::cout << "flag "
                << (f.kind() == v1::ForecastFlag::KIND_BACK_LOADED ? "BACK_LOADED"
                                                                   : "OUTTURN_MOVED")
                << "  " << f.scheme() << ": " << f.reason() << "\n";
    }
    return 0;
  }

  int Gap(const Args& args) {
    v1::GetGapTrajectoryRequest request;
    request.set_name(absl::StrCat(args.GetOr("plan", kDefaultPlan), "/gapTrajectory"));
    request.set_as_of_financial_year(args.GetOr("as_of_year", ""));
    int month = 0;
    if (absl::SimpleAtoi(args.GetOr("as_of_month", ""), &month)) request.set_as_of_month(month);
    v1::SchemeGrouping group_by = v1::SCHEME_GROUPING_UNSPECIFIED;
    if (!EnumFlag(args, "group_by", &group_by)) return 2;
    request.set_group_by(group_by);
    absl::StatusOr<v1::GapTrajectory> reply = client_->GetGapTrajectory(request);
    if (!reply.ok()) return ReportError(reply.status());
    const v1::GapTrajectory& gap = *reply;
    std::cout << gap.plan() << "  as at "
              << (gap.as_of_month() == 0
                      ? std::string("(no actuals yet)")
                      : absl::StrCat(gap.as_of_financial_year(), " M", gap.as_of_month()))
              << "\n";
    auto print = [](const google::protobuf::RepeatedPtrField<v1::GapYear>& years) {
      std::cout << absl::StrFormat("%-8s %20s %20s %20s %20s %20s\n", "year", "gap", "actual",
                                   "forecast delivery", "unmitigated", "unidentified");
      for (const auto& y : years) {
        std::cout << absl::StrFormat("%-8s %20s %20s %20s %20s %20s\n", y.financial_year(),
                                     Display(y.gap()), Display(y.actual()),
                                     Display(y.forecast_delivery()), Display(y.unmitigated()),
                                     Display(y.unidentified()));
      }
    };
    print(gap.years());
    for (const auto& g : gap.groups()) {
      std::cout << "\n[" << (g.key().empty() ? "(not recorded)" : g.key()) << "]\n";
      print(g.years());
    }
    return 0;
  }

  int PerHead(const Args& args, bool csv) {
    v1::GetPerHeadFiguresRequest request;
    request.set_name(absl::StrCat(args.GetOr("plan", kDefaultPlan), "/perHeadFigures"));
    request.set_financial_year(args.GetOr("year", ""));
    absl::StatusOr<v1::PerHeadFigures> reply = client_->GetPerHeadFigures(request);
    if (!reply.ok()) return ReportError(reply.status());
    const v1::PerHeadFigures& figures = *reply;
    runtime::CsvWriter writer(CsvOptionsOf(args));
    if (csv) {
      writer.Row({"area", "kind", "display_name", "registered_patients", "budget_gbp",
                  "budget_per_head_gbp", "savings_target_gbp", "savings_per_head_gbp"});
    }
    for (const auto& a : figures.areas()) {
      const std::string kind = a.area_kind() == v1::AreaFigures::AREA_KIND_SYSTEM    ? "system"
                               : a.area_kind() == v1::AreaFigures::AREA_KIND_CLUSTER ? "cluster"
                                                                                     : "locality";
      if (csv) {
        writer.Text(a.area()).Text(kind).Text(a.display_name()).Int(a.registered_patients());
        writer.Number(Pounds(a.budget())).Number(Pounds(a.budget_per_head()));
        writer.Number(Pounds(a.savings_target())).Number(Pounds(a.savings_target_per_head()));
        writer.EndRow();
      } else {
        std::cout << absl::StrFormat(
            "%-9s %-32s %10d patients  budget %s (%s/head)  savings %s (%s/head)\n", kind,
            a.area().empty() ? "whole system" : a.area(), a.registered_patients(),
            Display(a.budget()), Display(a.budget_per_head()), Display(a.savings_target()),
            Display(a.savings_target_per_head()));
      }
    }
    std::cout << writer.Take();
    return 0;
  }

 private:
  std::unique_ptr<finance::FinanceClient> client_;
};

}  // namespace
}  // namespace finance_cli

bool IsFinanceReportCommand(const std::string& command) {
  return command == "report" || command == "export-report" || command == "gap" ||
         command == "per-head";
}

int RunFinanceReportCommand(const std::string& command, const Args& args,
                            const Connection& connection, finance_cli::Output& out) {
  finance_cli::Reports reports(connection);
  const bool csv = args.Has("csv");
  if (command == "report") return reports.Report(args, csv, out);
  if (command == "export-report") return reports.Report(args, true, out);
  if (command == "gap") return reports.Gap(args);
  return reports.PerHead(args, csv);
}

}  // namespace dorset::cli
