// Posting an actual from the finance page (see finance_postings.h).
#include "console/pages/finance_postings.h"

#include <httplib.h>

#include <regex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "console/layout.h"
#include "runtime/server/call_registry.h"
#include "services/finance/money/money.h"

namespace dorset::console {
namespace {

namespace v1 = finance::v1;

constexpr char kPlan[] = "plans/dorset-stp";

bool IsSubmissionId(const std::string& s) {
  return std::regex_match(s, std::regex("[0-9a-f]{32}"));
}

void Post(const httplib::Request& req, httplib::Response& res, ConsoleContext& context) {
  std::optional<Session> session = RequireLogin(req, res, context);
  if (!session) return;
  if (!context.csrf->Verify(req)) {
    return SendPage(
        res, MessagePage("This form could not be sent", "Reload the page and try again."), 403);
  }
  const std::string scheme = req.get_param_value("scheme");
  const std::string year = req.get_param_value("year");
  int month = 0;
  std::string problem;
  absl::StatusOr<int64_t> pence = finance::money::ParsePounds(req.get_param_value("amount"));
  if (scheme.rfind(absl::StrCat(kPlan, "/"), 0) != 0) {
    problem = "Choose a scheme from the list.";
  } else if (!std::regex_match(year, std::regex("[0-9]{4}-[0-9]{2}")) ||
             !absl::SimpleAtoi(req.get_param_value("month"), &month) || month < 1 || month > 12) {
    problem = "The year or month of the report is not valid.";
  } else if (!pence.ok()) {
    problem = "Enter the amount in pounds, like 1,234.56.";
  }
  if (!problem.empty()) {
    return SendPage(res, MessagePage("The actual was not posted", problem), 400);
  }
  std::string submission = req.get_param_value("submission");
  if (!IsSubmissionId(submission)) submission = runtime::NewRequestId();
  v1::CreatePostingRequest request;
  request.set_request_id(absl::StrCat("console-", submission));
  v1::Posting& p = *request.mutable_posting();
  p.set_scheme(scheme);
  p.set_financial_year(year);
  p.set_month(month);
  p.set_kind(v1::POSTING_KIND_ACTUAL);
  p.mutable_amount()->set_pence(*pence);
  p.set_reason(req.get_param_value("reason"));
  absl::StatusOr<v1::Posting> posted = context.finance->CreatePosting(request, AsPerson(*session));
  if (!posted.ok()) return SendPersonStatusPage(req, res, context, posted.status());
  res.set_redirect(absl::StrCat("/staff/finance?year=", year, "&month=", month), 303);
}

}  // namespace

absl::StatusOr<SafeHtml> PostingForm(ConsoleContext& context, const Session& session,
                                     const std::string& csrf, const std::string& year, int month) {
  v1::ListSchemesRequest request;
  request.set_parent(kPlan);
  request.set_page_size(500);
  absl::StatusOr<v1::ListSchemesResponse> schemes =
      context.finance->ListSchemes(request, AsPerson(session));
  if (!schemes.ok()) return schemes.status();
  SafeHtml options;
  for (const v1::Scheme& s : schemes->schemes()) {
    if (s.state() == v1::Scheme::STATE_CLOSED) continue;
    options += Render(R"html(<option value="{{v}}">{{t}}</option>)html",
                      {{"v", s.name()}, {"t", s.display_name()}});
  }
  return Render(R"html(<form method="post" action="/staff/finance/postings">
<input type="hidden" name="csrf_token" value="{{csrf}}">
<input type="hidden" name="submission" value="{{submission}}">
<input type="hidden" name="year" value="{{year}}">
<input type="hidden" name="month" value="{{month}}">
<div class="nhsuk-form-group"><label class="nhsuk-label" for="scheme">Scheme</label>
<select class="nhsuk-select" id="scheme" name="scheme">{{options}}</select></div>
<div class="nhsuk-form-group"><label class="nhsuk-label" for="amount">Actual saving in pounds, month {{month}} of {{year}}</label>
<div class="nhsuk-hint" id="amount-hint">For example 1,234.56</div>
<input class="nhsuk-input nhsuk-input--width-10" id="amount" name="amount" type="text" inputmode="decimal" aria-describedby="amount-hint"></div>
<div class="nhsuk-form-group"><label class="nhsuk-label" for="reason">Reason</label>
<input class="nhsuk-input" id="reason" name="reason" type="text"></div>
<button class="nhsuk-button" data-module="nhsuk-button" type="submit">Post actual</button>
</form>)html",
                {{"csrf", csrf},
                 {"submission", runtime::NewRequestId()},
                 {"year", year},
                 {"month", std::to_string(month)},
                 {"options", options}});
}

void RegisterFinancePostings(Router& router) { router.Post("/staff/finance/postings", Post); }

}  // namespace dorset::console
