// Staff login and home. A person logs in with their bearer token (the same token the API takes);
// the console checks it with one call to the engagement service as that person (UNAUTHENTICATED:
// not recognised; any other answer from the service: a real principal, whose role the services
// will check on every page), then keeps it server-side under a session cookie (session.h).
// Every form here carries the CSRF token; login attempts are rate-limited per client address.
#include <httplib.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "console/layout.h"
#include "console/pages/pages.h"

namespace dorset::console {
namespace {

namespace v1 = engagement::v1;

// Only a path inside the staff area: never another host ("//evil") or a script.
std::string SafeNext(const std::string& next) {
  if (!absl::StartsWith(next, "/staff") || absl::StartsWith(next, "//") ||
      next.find("..") != std::string::npos) {
    return "/staff";
  }
  for (char c : next) {
    if (!absl::ascii_isalnum(c) && c != '/' && c != '-' && c != '_') return "/staff";
  }
  return next;
}

SafeHtml LoginPage(const std::string& csrf, const std::string& next, const std::string& error) {
  SafeHtml summary;
  if (!error.empty()) summary = ErrorSummary({{error, "#token"}});
  SafeHtml content = Render(
      R"html({{summary}}
<h1>Staff login</h1>
<p>Log in with your access token, the one you use with dorsetctl and the API. What you can see
and do is what your role allows there.</p>
<form method="post" action="/staff/login" novalidate>
<input type="hidden" name="csrf_token" value="{{csrf}}">
<input type="hidden" name="next" value="{{next}}">
<div class="{{group}}">
<label class="nhsuk-label" for="token">Access token</label>
{{error}}
<input class="nhsuk-input{{input_error}}" id="token" name="token" type="password" autocomplete="off" spellcheck="false">
</div>
<button class="nhsuk-button" data-module="nhsuk-button" type="submit">Log in</button>
</form>)html",
      {{"summary", summary},
       {"csrf", csrf},
       {"next", next},
       {"group", std::string(error.empty() ? "nhsuk-form-group"
                                           : "nhsuk-form-group nhsuk-form-group--error")},
       {"error",
        error.empty()
            ? SafeHtml()
            : Render(
                  R"html(<span class="nhsuk-error-message" id="token-error"><span class="nhsuk-u-visually-hidden">Error:</span> {{m}}</span>)html",
                  {{"m", error}})},
       {"input_error", std::string(error.empty() ? "" : " nhsuk-input--error")}});
  return Page(PageFrame("Staff login", "staff", {}, !error.empty()), content);
}

void ShowLogin(const httplib::Request& req, httplib::Response& res, ConsoleContext& context) {
  SendPage(res,
           LoginPage(context.csrf->TokenFor(req, res), SafeNext(req.get_param_value("next")), ""));
}

void Login(const httplib::Request& req, httplib::Response& res, ConsoleContext& context) {
  if (!context.csrf->Verify(req)) {
    return SendPage(res,
                    MessagePage("This form could not be sent",
                                "The form was not sent from this site, or it has expired. Go back, "
                                "reload the page and try again."),
                    403);
  }
  absl::Duration retry_after;
  if (!context.login_limit->Allow(req.remote_addr, absl::Now(), &retry_after)) {
    res.set_header("Retry-After",
                   std::to_string(std::max<int64_t>(
                       1, absl::ToInt64Seconds(absl::Ceil(retry_after, absl::Seconds(1))))));
    return SendPage(res, MessagePage("Too many attempts", "Wait a few minutes and try again."),
                    429);
  }
  const std::string next = SafeNext(req.get_param_value("next"));
  std::string token = req.get_param_value("token");
  absl::StripAsciiWhitespace(&token);
  const bool printable =
      std::all_of(token.begin(), token.end(), [](char c) { return c > ' ' && c <= '~'; });
  if (token.empty() || token.size() > 512 || !printable) {
    return SendPage(
        res, LoginPage(context.csrf->TokenFor(req, res), next, "Enter your access token"), 400);
  }
  // Who it is does not matter here, only that a service knows the token: PERMISSION_DENIED is a
  // real principal without engagement reads (the pages they open will say what they cannot see).
  v1::ListActivitiesRequest probe;
  probe.set_page_size(1);
  Session person{"", token, absl::Now(), absl::Now()};
  absl::StatusOr<v1::ListActivitiesResponse> reply =
      context.engagement->ListActivities(probe, AsPerson(person));
  if (absl::IsUnauthenticated(reply.status())) {
    return SendPage(
        res,
        LoginPage(context.csrf->TokenFor(req, res), next, "This access token is not recognised"),
        400);
  }
  if (!reply.ok() && !absl::IsPermissionDenied(reply.status())) {
    return SendStatusPage(res, reply.status());
  }
  context.sessions->Create(token, res, absl::Now());
  res.set_redirect(next, 303);
}

void Logout(const httplib::Request& req, httplib::Response& res, ConsoleContext& context) {
  if (!context.csrf->Verify(req)) {
    return SendPage(
        res, MessagePage("This form could not be sent", "Reload the page and try again."), 403);
  }
  context.sessions->End(req, res);
  res.set_redirect("/staff/login", 303);
}

void Home(const httplib::Request& req, httplib::Response& res, ConsoleContext& context) {
  std::optional<Session> session = RequireLogin(req, res, context);
  if (!session) return;
  SafeHtml content = Render(R"html(<h1>Staff</h1>
<ul class="nhsuk-list">
<li><a href="/staff/ops">Operations: every service's health, calls and errors</a></li>
<li><a href="/staff/registry">Registry: practices, their history, clusters and localities</a></li>
<li><a href="/staff/engagement">Engagement: activities and their lifecycle, aggregates, stakeholders</a></li>
<li><a href="/staff/finance">Finance: the monthly report, the savings gap and figures per head</a></li>
</ul>
<p>Registry, finance and engagement pages are to come (docs/console.md).</p>
<form method="post" action="/staff/logout">
<input type="hidden" name="csrf_token" value="{{csrf}}">
<button class="nhsuk-button nhsuk-button--secondary" data-module="nhsuk-button" type="submit">Log out</button>
</form>)html",
                            {{"csrf", context.csrf->TokenFor(req, res)}});
  SendPage(res, Page(PageFrame("Staff", "staff"), content));
}

}  // namespace

void RegisterStaffPages(Router& router) {
  router.Get("/staff/login", ShowLogin);
  router.Post("/staff/login", Login);
  router.Post("/staff/logout", Logout);
  router.Get("/staff", Home);
}

}  // namespace dorset::console
