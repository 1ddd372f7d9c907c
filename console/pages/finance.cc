// The finance pages (login), every figure as the logged-in person reads it through the finance
// client (so finance-read is needed, as through the API):
//   /staff/finance?year=2020-21&month=6   the monthly report (plan, actual, variance, forecast,
//       RAG per node), the savings gap trajectory year by year as an accessible SVG chart with
//       its data table beside it (gap to close, forecast delivery, delivered), and the figures
//       per head by area;
//   /staff/finance/report.csv?year=&month=   the same report as CSV (runtime/text/csv_writer.h).
// Money stays integer pence until it is written (services/finance/money); chart heights are
// integer ratios too.
#include <httplib.h>

#include <algorithm>
#include <regex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "console/layout.h"
#include "console/pages/finance_postings.h"
#include "console/pages/pages.h"
#include "runtime/text/csv_writer.h"
#include "services/finance/money/money.h"

namespace dorset::console {
namespace {

namespace v1 = finance::v1;

constexpr char kPlan[] = "plans/dorset-stp";

std::string Gbp(const common::v1::Money& m) {
  return finance::money::FormatPounds(m.pence(), {.symbol = true, .grouping = true});
}

SafeHtml RagTag(v1::Rag rag) {
  switch (rag) {
    case v1::RAG_GREEN:
      return Tag("Green", "green");
    case v1::RAG_AMBER:
      return Tag("Amber", "yellow");
    case v1::RAG_RED:
      return Tag("Red", "red");
    default:
      return Tag("No plan", "grey");
  }
}

std::string RagWord(v1::Rag rag) {
  switch (rag) {
    case v1::RAG_GREEN:
      return "GREEN";
    case v1::RAG_AMBER:
      return "AMBER";
    case v1::RAG_RED:
      return "RED";
    default:
      return "NO_PLAN";
  }
}

struct Query {
  std::string year = "2020-21";
  int month = 6;
};

// The year and month asked for; INVALID_ARGUMENT naming the field when malformed.
absl::StatusOr<Query> ReadQuery(const httplib::Request& req) {
  Query q;
  if (req.has_param("year")) q.year = req.get_param_value("year");
  if (!std::regex_match(q.year, std::regex("[0-9]{4}-[0-9]{2}"))) {
    return absl::InvalidArgumentError("year: expected a financial year like 2020-21");
  }
  if (req.has_param("month") &&
      (!absl::SimpleAtoi(req.get_param_value("month"), &q.month) || q.month < 1 || q.month > 12)) {
    return absl::InvalidArgumentError("month: expected 1 (April) to 12 (March)");
  }
  return q;
}

absl::StatusOr<v1::Report> LoadReport(ConsoleContext& context, const Session& session,
                                      const Query& q) {
  v1::GetReportRequest request;
  request.set_name(absl::StrCat(kPlan, "/report"));
  request.set_financial_year(q.year);
  request.set_month(q.month);
  return context.finance->GetReport(request, AsPerson(session));
}

SafeHtml ReportTable(const v1::Report& report) {
  SafeHtml rows;
  for (const v1::ReportLine& l : report.lines()) {
    rows += Render(R"html(<tr class="nhsuk-table__row" data-node="{{node}}">
<th scope="row" class="nhsuk-table__header dorset-depth-{{depth}}">{{name}}</th>
<td class="nhsuk-table__cell nhsuk-table__cell--numeric">{{target}}</td>
<td class="nhsuk-table__cell nhsuk-table__cell--numeric">{{plan}}</td>
<td class="nhsuk-table__cell nhsuk-table__cell--numeric" data-ytd-actual>{{actual}}</td>
<td class="nhsuk-table__cell nhsuk-table__cell--numeric">{{variance}}</td>
<td class="nhsuk-table__cell nhsuk-table__cell--numeric">{{forecast}}</td>
<td class="nhsuk-table__cell">{{rag}}</td>
</tr>)html",
                   {{"node", l.node()},
                    {"depth", std::to_string(std::min(l.depth(), 3))},
                    {"name", std::string(static_cast<size_t>(std::max(0, l.depth())) * 2, ' ') +
                                 l.display_name()},
                    {"target", Gbp(l.annual_target())},
                    {"plan", Gbp(l.ytd_plan())},
                    {"actual", Gbp(l.ytd_actual())},
                    {"variance", Gbp(l.ytd_variance())},
                    {"forecast", Gbp(l.forecast_outturn())},
                    {"rag", RagTag(l.rag())}});
  }
  return Render(R"html(<table class="nhsuk-table-responsive">
<caption class="nhsuk-table__caption">Savings plan, {{year}} month {{month}} (year to date)</caption>
<thead class="nhsuk-table__head"><tr class="nhsuk-table__row">
<th scope="col" class="nhsuk-table__header">Plan, programme or scheme</th>
<th scope="col" class="nhsuk-table__header nhsuk-table__header--numeric">Annual target</th>
<th scope="col" class="nhsuk-table__header nhsuk-table__header--numeric">Plan to date</th>
<th scope="col" class="nhsuk-table__header nhsuk-table__header--numeric">Actual to date</th>
<th scope="col" class="nhsuk-table__header nhsuk-table__header--numeric">Variance</th>
<th scope="col" class="nhsuk-table__header nhsuk-table__header--numeric">Forecast outturn</th>
<th scope="col" class="nhsuk-table__header">RAG</th>
</tr></thead>
<tbody class="nhsuk-table__body">{{rows}}</tbody></table>)html",
                {{"year", report.financial_year()},
                 {"month", std::to_string(report.month())},
                 {"rows", rows}});
}

// Bars per year: the gap to close, the forecast delivery, and what was delivered.
SafeHtml GapChart(const v1::GapTrajectory& gap) {
  constexpr int kWidth = 640, kHeight = 260, kTop = 20, kBottom = 40, kLeft = 10;
  int64_t max = 1;
  for (const v1::GapYear& y : gap.years()) {
    max = std::max({max, y.gap().pence(), y.forecast_delivery().pence(), y.actual().pence()});
  }
  const int years = std::max(1, gap.years_size());
  const int slot = (kWidth - kLeft) / years;
  const int bar = std::max(4, slot / 4);
  const char* colours[] = {"#005eb8", "#41b6e6", "#007f3b"};
  SafeHtml bars;
  for (int i = 0; i < gap.years_size(); ++i) {
    const v1::GapYear& y = gap.years(i);
    const int64_t values[] = {y.gap().pence(), y.forecast_delivery().pence(), y.actual().pence()};
    for (int s = 0; s < 3; ++s) {
      const int64_t v = std::max<int64_t>(0, values[s]);
      const int h = static_cast<int>(static_cast<__int128>(v) * (kHeight - kTop - kBottom) / max);
      bars += Render(
          R"html(<rect x="{{x}}" y="{{y}}" width="{{w}}" height="{{h}}" fill="{{c}}"></rect>)html",
          {{"x", std::to_string(kLeft + i * slot + s * bar)},
           {"y", std::to_string(kHeight - kBottom - h)},
           {"w", std::to_string(bar - 2)},
           {"h", std::to_string(h)},
           {"c", std::string(colours[s])}});
    }
    bars += Render(
        R"html(<text x="{{x}}" y="{{y}}" font-size="14" fill="#212b32">{{label}}</text>)html",
        {{"x", std::to_string(kLeft + i * slot)},
         {"y", std::to_string(kHeight - kBottom + 18)},
         {"label", y.financial_year()}});
  }
  SafeHtml rows;
  for (const v1::GapYear& y : gap.years()) {
    rows += Render(
        R"html(<tr class="nhsuk-table__row" data-year="{{year}}"><th scope="row" class="nhsuk-table__header">{{year}}</th>
<td class="nhsuk-table__cell nhsuk-table__cell--numeric">{{gap}}</td>
<td class="nhsuk-table__cell nhsuk-table__cell--numeric">{{forecast}}</td>
<td class="nhsuk-table__cell nhsuk-table__cell--numeric" data-delivered>{{actual}}</td></tr>)html",
        {{"year", y.financial_year()},
         {"gap", Gbp(y.gap())},
         {"forecast", Gbp(y.forecast_delivery())},
         {"actual", Gbp(y.actual())}});
  }
  return Render(R"html(<figure class="dorset-chart">
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {{w}} {{h}}" width="100%" role="img" aria-labelledby="gap-title gap-desc">
<title id="gap-title">Savings gap trajectory</title>
<desc id="gap-desc">For each financial year three bars: the gap to close (dark blue), the forecast delivery (light blue) and what was delivered (green). The same figures are in the table below.</desc>
{{bars}}
</svg>
<figcaption class="nhsuk-body-s">Dark blue: gap to close. Light blue: forecast delivery. Green: delivered.</figcaption>
</figure>
<table class="nhsuk-table">
<caption class="nhsuk-table__caption nhsuk-table__caption--s">The chart's figures</caption>
<thead class="nhsuk-table__head"><tr class="nhsuk-table__row">
<th scope="col" class="nhsuk-table__header">Year</th>
<th scope="col" class="nhsuk-table__header nhsuk-table__header--numeric">Gap to close</th>
<th scope="col" class="nhsuk-table__header nhsuk-table__header--numeric">Forecast delivery</th>
<th scope="col" class="nhsuk-table__header nhsuk-table__header--numeric">Delivered</th>
</tr></thead><tbody class="nhsuk-table__body">{{rows}}</tbody></table>)html",
                {{"w", std::to_string(kWidth)},
                 {"h", std::to_string(kHeight)},
                 {"bars", bars},
                 {"rows", rows}});
}

SafeHtml PerHeadTable(const v1::PerHeadFigures& figures) {
  SafeHtml rows;
  for (const v1::AreaFigures& a : figures.areas()) {
    if (a.area_kind() != v1::AreaFigures::AREA_KIND_LOCALITY &&
        a.area_kind() != v1::AreaFigures::AREA_KIND_SYSTEM) {
      continue;
    }
    rows += Render(
        R"html(<tr class="nhsuk-table__row"><th scope="row" class="nhsuk-table__header">{{name}}</th>
<td class="nhsuk-table__cell nhsuk-table__cell--numeric">{{patients}}</td>
<td class="nhsuk-table__cell nhsuk-table__cell--numeric">{{budget}}</td>
<td class="nhsuk-table__cell nhsuk-table__cell--numeric">{{savings}}</td></tr>)html",
        {{"name", a.area_kind() == v1::AreaFigures::AREA_KIND_SYSTEM ? std::string("Whole system")
                                                                     : a.display_name()},
         {"patients", std::to_string(a.registered_patients())},
         {"budget", Gbp(a.budget_per_head())},
         {"savings", Gbp(a.savings_target_per_head())}});
  }
  return Render(R"html(<table class="nhsuk-table">
<caption class="nhsuk-table__caption nhsuk-table__caption--s">Per registered patient, {{year}}</caption>
<thead class="nhsuk-table__head"><tr class="nhsuk-table__row">
<th scope="col" class="nhsuk-table__header">Area</th>
<th scope="col" class="nhsuk-table__header nhsuk-table__header--numeric">Registered patients</th>
<th scope="col" class="nhsuk-table__header nhsuk-table__header--numeric">Budget per head</th>
<th scope="col" class="nhsuk-table__header nhsuk-table__header--numeric">Savings target per head</th>
</tr></thead><tbody class="nhsuk-table__body">{{rows}}</tbody></table>)html",
                {{"year", figures.financial_year()}, {"rows", rows}});
}

void FinancePage(const httplib::Request& req, httplib::Response& res, ConsoleContext& context) {
  std::optional<Session> session = RequireLogin(req, res, context);
  if (!session) return;
  absl::StatusOr<Query> q = ReadQuery(req);
  if (!q.ok()) return SendStatusPage(res, q.status());
  absl::StatusOr<v1::Report> report = LoadReport(context, *session, *q);
  if (!report.ok()) return SendPersonStatusPage(req, res, context, report.status());
  v1::GetGapTrajectoryRequest gap_request;
  gap_request.set_name(absl::StrCat(kPlan, "/gapTrajectory"));
  absl::StatusOr<v1::GapTrajectory> gap =
      context.finance->GetGapTrajectory(gap_request, AsPerson(*session));
  if (!gap.ok()) return SendPersonStatusPage(req, res, context, gap.status());
  v1::GetPerHeadFiguresRequest per_head_request;
  per_head_request.set_name(absl::StrCat(kPlan, "/perHeadFigures"));
  per_head_request.set_financial_year(q->year);
  absl::StatusOr<v1::PerHeadFigures> per_head =
      context.finance->GetPerHeadFigures(per_head_request, AsPerson(*session));
  if (!per_head.ok()) return SendPersonStatusPage(req, res, context, per_head.status());

  absl::StatusOr<SafeHtml> posting_form =
      PostingForm(context, *session, context.csrf->TokenFor(req, res), q->year, q->month);
  if (!posting_form.ok()) return SendPersonStatusPage(req, res, context, posting_form.status());

  SafeHtml months;
  const char* kMonths[] = {"April",   "May",      "June",     "July",    "August",   "September",
                           "October", "November", "December", "January", "February", "March"};
  for (int m = 1; m <= 12; ++m) {
    months += Render(m == q->month ? R"html(<option value="{{v}}" selected>{{t}}</option>)html"
                                   : R"html(<option value="{{v}}">{{t}}</option>)html",
                     {{"v", std::to_string(m)}, {"t", std::string(kMonths[m - 1])}});
  }
  const std::string csv =
      absl::StrCat("/staff/finance/report.csv?year=", q->year, "&month=", q->month);
  SafeHtml content = Render(R"html(<h1>Finance</h1>
<form method="get" action="/staff/finance" class="nhsuk-u-margin-bottom-5">
<div class="nhsuk-form-group"><label class="nhsuk-label" for="year">Financial year</label>
<input class="nhsuk-input nhsuk-input--width-5" id="year" name="year" type="text" value="{{year}}" spellcheck="false"></div>
<div class="nhsuk-form-group"><label class="nhsuk-label" for="month">Month</label>
<select class="nhsuk-select" id="month" name="month">{{months}}</select></div>
<button class="nhsuk-button nhsuk-button--secondary" data-module="nhsuk-button" type="submit">Show report</button>
</form>
<h2>Monthly report</h2>
<p><a href="{{csv}}" download>Download this report as CSV</a></p>
{{report}}
<h2>Post an actual</h2>
{{posting_form}}
<h2>Savings gap trajectory</h2>
{{chart}}
<h2>Figures per head</h2>
{{per_head}})html",
                            {{"year", q->year},
                             {"months", months},
                             {"csv", csv},
                             {"report", ReportTable(*report)},
                             {"chart", GapChart(*gap)},
                             {"posting_form", *posting_form},
                             {"per_head", PerHeadTable(*per_head)}});
  SendPage(res, Page(PageFrame("Finance", "staff", {{"Staff", "/staff"}}), content));
}

void ReportCsv(const httplib::Request& req, httplib::Response& res, ConsoleContext& context) {
  std::optional<Session> session = RequireLogin(req, res, context);
  if (!session) return;
  absl::StatusOr<Query> q = ReadQuery(req);
  if (!q.ok()) return SendStatusPage(res, q.status());
  absl::StatusOr<v1::Report> report = LoadReport(context, *session, *q);
  if (!report.ok()) return SendPersonStatusPage(req, res, context, report.status());
  runtime::CsvWriter writer;
  writer.Row({"plan", "financial_year", "month", "node", "level", "display_name",
              "annual_target_gbp", "ytd_plan_gbp", "ytd_actual_gbp", "ytd_variance_gbp",
              "forecast_outturn_gbp", "rag"});
  for (const v1::ReportLine& l : report->lines()) {
    writer.Text(report->plan()).Text(report->financial_year()).Int(report->month());
    writer.Text(l.node()).Int(l.depth()).Text(l.display_name());
    writer.Number(finance::money::FormatPounds(l.annual_target().pence()));
    writer.Number(finance::money::FormatPounds(l.ytd_plan().pence()));
    writer.Number(finance::money::FormatPounds(l.ytd_actual().pence()));
    writer.Number(finance::money::FormatPounds(l.ytd_variance().pence()));
    writer.Number(finance::money::FormatPounds(l.forecast_outturn().pence()));
    writer.Text(RagWord(l.rag())).EndRow();
  }
  res.set_header("Content-Disposition",
                 absl::StrCat("attachment; filename=\"report-", q->year, "-m", q->month, ".csv\""));
  res.set_header("Cache-Control", "no-store");
  res.set_content(writer.Take(), "text/csv; charset=utf-8");
}

}  // namespace

void RegisterFinancePages(Router& router) {
  router.Get("/staff/finance", FinancePage);
  router.Get("/staff/finance/report.csv", ReportCsv);
  RegisterFinancePostings(router);
}

}  // namespace dorset::console
