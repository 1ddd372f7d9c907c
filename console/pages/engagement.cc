// The engagement pages (login), every figure as the logged-in person reads it:
//   /staff/engagement                      every activity (drafts too) with its lifecycle action
//                                          (open a draft, close an open one, publish an outcome),
//                                          each a POST form with the CSRF token;
//   /staff/engagement/{id}                 aggregates by theme, sentiment, channel and locality as
//                                          charts with their tables, and participation per 1,000
//                                          registered patients by locality;
//   /staff/engagement/stakeholders         stakeholders: a role without personal-data-read sees
//                                          them redacted, exactly as the API returns them.
// An action the person's role does not allow is the service's PERMISSION_DENIED: a 403 page.
#include <httplib.h>

#include <map>

#include "absl/strings/str_cat.h"
#include "console/charts.h"
#include "console/layout.h"
#include "console/pages/pages.h"
#include "console/pages/public_text.h"

namespace dorset::console {
namespace {

namespace v1 = engagement::v1;

constexpr char kId[] = R"(([A-Za-z0-9][A-Za-z0-9._~-]{0,62}))";

SafeHtml ActionForm(const std::string& id, const std::string& action, const std::string& label,
                    const std::string& csrf, bool with_summary) {
  return Render(with_summary
                    ? R"html(<form method="post" action="/staff/engagement/{{id}}/{{action}}">
<input type="hidden" name="csrf_token" value="{{csrf}}">
<div class="nhsuk-form-group"><label class="nhsuk-label" for="summary-{{id}}">Outcome summary</label>
<input class="nhsuk-input" id="summary-{{id}}" name="summary" type="text"></div>
<button class="nhsuk-button nhsuk-button--secondary nhsuk-u-margin-bottom-0" data-module="nhsuk-button" type="submit">{{label}}<span class="nhsuk-u-visually-hidden"> {{id}}</span></button>
</form>)html"
                    : R"html(<form method="post" action="/staff/engagement/{{id}}/{{action}}">
<input type="hidden" name="csrf_token" value="{{csrf}}">
<button class="nhsuk-button nhsuk-button--secondary nhsuk-u-margin-bottom-0" data-module="nhsuk-button" type="submit">{{label}}<span class="nhsuk-u-visually-hidden"> {{id}}</span></button>
</form>)html",
                {{"id", id}, {"action", action}, {"label", label}, {"csrf", csrf}});
}

void ListPage(const httplib::Request& req, httplib::Response& res, ConsoleContext& context) {
  std::optional<Session> session = RequireLogin(req, res, context);
  if (!session) return;
  std::vector<v1::Activity> activities;
  v1::ListActivitiesRequest request;
  request.set_page_size(100);
  for (int page = 0; page < 50; ++page) {
    absl::StatusOr<v1::ListActivitiesResponse> reply =
        context.engagement->ListActivities(request, AsPerson(*session));
    if (!reply.ok()) return SendPersonStatusPage(req, res, context, reply.status());
    activities.insert(activities.end(), reply->activities().begin(), reply->activities().end());
    if (reply->next_page_token().empty()) break;
    request.set_page_token(reply->next_page_token());
  }
  const std::string csrf = context.csrf->TokenFor(req, res);
  SafeHtml rows;
  for (const v1::Activity& a : activities) {
    const std::string id = ActivityId(a.name());
    SafeHtml action;
    if (a.state() == v1::ACTIVITY_STATE_DRAFT) action = ActionForm(id, "open", "Open", csrf, false);
    if (a.state() == v1::ACTIVITY_STATE_OPEN)
      action = ActionForm(id, "close", "Close", csrf, false);
    if (a.state() == v1::ACTIVITY_STATE_CLOSED) {
      action = ActionForm(id, "publish", "Publish outcome", csrf, true);
    }
    rows += Render(R"html(<tr class="nhsuk-table__row" data-activity="{{id}}">
<th scope="row" class="nhsuk-table__header"><a href="/staff/engagement/{{id}}">{{title}}</a></th>
<td class="nhsuk-table__cell">{{state}}</td>
<td class="nhsuk-table__cell">{{action}}</td></tr>)html",
                   {{"id", id},
                    {"title", a.title()},
                    {"state", a.state() == v1::ACTIVITY_STATE_DRAFT ? Tag("Draft", "white")
                                                                    : StateTag(a.state())},
                    {"action", action}});
  }
  SafeHtml content = Render(R"html(<h1>Engagement</h1>
<p><a href="/staff/engagement/stakeholders">Stakeholders</a></p>
<table class="nhsuk-table">
<caption class="nhsuk-table__caption">Activities (<span data-activity-count>{{count}}</span>)</caption>
<thead class="nhsuk-table__head"><tr class="nhsuk-table__row">
<th scope="col" class="nhsuk-table__header">Activity</th>
<th scope="col" class="nhsuk-table__header">State</th>
<th scope="col" class="nhsuk-table__header">Action</th></tr></thead>
<tbody class="nhsuk-table__body">{{rows}}</tbody></table>)html",
                            {{"count", std::to_string(activities.size())}, {"rows", rows}});
  SendPage(res, Page(PageFrame("Engagement", "staff", {{"Staff", "/staff"}}), content));
}

void Lifecycle(const httplib::Request& req, httplib::Response& res, ConsoleContext& context) {
  std::optional<Session> session = RequireLogin(req, res, context);
  if (!session) return;
  if (!context.csrf->Verify(req)) {
    return SendPage(
        res, MessagePage("This form could not be sent", "Reload the page and try again."), 403);
  }
  const std::string name = absl::StrCat("activities/", req.matches[1].str());
  const std::string action = req.matches[2].str();
  absl::StatusOr<v1::Activity> done;
  if (action == "open") {
    v1::OpenActivityRequest request;
    request.set_name(name);
    done = context.engagement->OpenActivity(request, AsPerson(*session));
  } else if (action == "close") {
    v1::CloseActivityRequest request;
    request.set_name(name);
    done = context.engagement->CloseActivity(request, AsPerson(*session));
  } else {
    v1::PublishOutcomeRequest request;
    request.set_name(name);
    request.set_outcome_summary(req.get_param_value("summary"));
    done = context.engagement->PublishOutcome(request, AsPerson(*session));
  }
  if (!done.ok()) return SendPersonStatusPage(req, res, context, done.status());
  res.set_redirect("/staff/engagement", 303);
}

std::vector<std::pair<std::string, int64_t>> Bars(
    const google::protobuf::RepeatedPtrField<v1::Count>& counts,
    const std::map<std::string, std::string>& names,
    std::string (*word)(const std::string&) = nullptr) {
  std::vector<std::pair<std::string, int64_t>> bars;
  for (const v1::Count& c : counts) {
    std::string label = c.key();
    if (auto it = names.find(c.key()); it != names.end()) label = it->second;
    if (word != nullptr) label = word(c.key());
    if (label.empty()) label = "Not given";
    bars.emplace_back(label, c.responses());
  }
  return bars;
}

std::string ChannelWord(const std::string& key) {
  if (key == "ONLINE") return "Online";
  if (key == "LETTER") return "Letter";
  if (key == "EVENT") return "At an event";
  if (key == "PHONE") return "Telephone";
  return key;
}

void AggregatesPage(const httplib::Request& req, httplib::Response& res, ConsoleContext& context) {
  std::optional<Session> session = RequireLogin(req, res, context);
  if (!session) return;
  const std::string name = absl::StrCat("activities/", req.matches[1].str());
  v1::GetActivityRequest get;
  get.set_name(name);
  absl::StatusOr<v1::Activity> activity = context.engagement->GetActivity(get, AsPerson(*session));
  if (!activity.ok()) return SendPersonStatusPage(req, res, context, activity.status());
  v1::GetActivityAggregatesRequest request;
  request.set_name(name + "/aggregates");
  absl::StatusOr<v1::ActivityAggregates> agg =
      context.engagement->GetActivityAggregates(request, AsPerson(*session));
  if (!agg.ok()) return SendPersonStatusPage(req, res, context, agg.status());
  v1::ListThemesRequest themes_request;
  themes_request.set_parent(name);
  themes_request.set_page_size(500);
  absl::StatusOr<v1::ListThemesResponse> themes =
      context.engagement->ListThemes(themes_request, AsPerson(*session));
  if (!themes.ok()) return SendPersonStatusPage(req, res, context, themes.status());
  std::map<std::string, std::string> theme_names;
  for (const v1::Theme& t : themes->themes()) theme_names[t.name()] = t.display_name();
  const std::map<std::string, std::string> localities = LocalityNames(*context.registry);

  SafeHtml participation;
  for (const v1::LocalityParticipation& p : agg->participation()) {
    auto it = localities.find(p.locality());
    participation += Render(
        R"html(<tr class="nhsuk-table__row"><th scope="row" class="nhsuk-table__header">{{name}}</th>
<td class="nhsuk-table__cell nhsuk-table__cell--numeric">{{responses}}</td>
<td class="nhsuk-table__cell nhsuk-table__cell--numeric">{{patients}}</td>
<td class="nhsuk-table__cell nhsuk-table__cell--numeric">{{per}}</td></tr>)html",
        {{"name", it != localities.end() ? it->second : p.locality()},
         {"responses", std::to_string(p.responses())},
         {"patients", p.registered_patients_available() ? std::to_string(p.registered_patients())
                                                        : std::string("Not known")},
         {"per", p.registered_patients_available() ? p.per_thousand() : std::string("-")}});
  }
  SafeHtml content = Render(
      R"html(<h1>{{title}}</h1>
<p>{{state}} <span data-total-responses>{{total}}</span> responses in all.</p>
<h2>By theme</h2>{{themes}}
<h2>By sentiment</h2>{{sentiment}}
<h2>By channel</h2>{{channel}}
<h2>By locality</h2>{{locality}}
<h2>Participation per 1,000 registered patients</h2>
<table class="nhsuk-table"><caption class="nhsuk-table__caption nhsuk-table__caption--s">Responses per 1,000 registered patients, by locality</caption>
<thead class="nhsuk-table__head"><tr class="nhsuk-table__row"><th scope="col" class="nhsuk-table__header">Locality</th>
<th scope="col" class="nhsuk-table__header nhsuk-table__header--numeric">Responses</th>
<th scope="col" class="nhsuk-table__header nhsuk-table__header--numeric">Registered patients</th>
<th scope="col" class="nhsuk-table__header nhsuk-table__header--numeric">Per 1,000</th></tr></thead>
<tbody class="nhsuk-table__body">{{participation}}</tbody></table>)html",
      {{"title", activity->title()},
       {"state", activity->state() == v1::ACTIVITY_STATE_DRAFT ? Tag("Draft", "white")
                                                               : StateTag(activity->state())},
       {"total", std::to_string(agg->total_responses())},
       {"themes", BarChart("by-theme", "Responses by theme", "responses",
                           Bars(agg->by_theme(), theme_names))},
       {"sentiment", BarChart("by-sentiment", "Responses by sentiment", "responses",
                              Bars(agg->by_sentiment(), {}, SentimentText))},
       {"channel", BarChart("by-channel", "Responses by channel", "responses",
                            Bars(agg->by_channel(), {}, ChannelWord))},
       {"locality", BarChart("by-locality", "Responses by locality", "responses",
                             Bars(agg->by_locality(), localities))},
       {"participation", participation}});
  SendPage(res, Page(PageFrame(activity->title(), "staff",
                               {{"Staff", "/staff"}, {"Engagement", "/staff/engagement"}}),
                     content));
}

void StakeholdersPage(const httplib::Request& req, httplib::Response& res,
                      ConsoleContext& context) {
  std::optional<Session> session = RequireLogin(req, res, context);
  if (!session) return;
  v1::ListStakeholdersRequest request;
  request.set_page_size(200);
  absl::StatusOr<v1::ListStakeholdersResponse> reply =
      context.engagement->ListStakeholders(request, AsPerson(*session));
  if (!reply.ok()) return SendPersonStatusPage(req, res, context, reply.status());
  SafeHtml rows;
  for (const v1::Stakeholder& s : reply->stakeholders()) {
    rows += Render(
        R"html(<tr class="nhsuk-table__row" data-stakeholder="{{name}}">
<th scope="row" class="nhsuk-table__header">{{display}}</th>
<td class="nhsuk-table__cell">{{organisation}}</td>
<td class="nhsuk-table__cell" data-contact>{{contact}}</td></tr>)html",
        {{"name", s.name()},
         {"display", s.display_name().empty() ? std::string("(no name)") : s.display_name()},
         {"organisation", s.organisation()},
         {"contact",
          s.personal_data_redacted()
              ? Tag("Redacted for your role", "grey")
              : Text(absl::StrCat(s.contact().email(), s.contact().phone().empty() ? "" : " ",
                                  s.contact().phone()))}});
  }
  SafeHtml content = Render(R"html(<h1>Stakeholders</h1>
<p>Contact details are shown only to roles allowed to read personal data.</p>
<table class="nhsuk-table"><caption class="nhsuk-table__caption nhsuk-table__caption--s">Stakeholders (first 200)</caption>
<thead class="nhsuk-table__head"><tr class="nhsuk-table__row"><th scope="col" class="nhsuk-table__header">Name</th>
<th scope="col" class="nhsuk-table__header">Organisation</th><th scope="col" class="nhsuk-table__header">Contact</th></tr></thead>
<tbody class="nhsuk-table__body">{{rows}}</tbody></table>)html",
                            {{"rows", rows}});
  SendPage(res, Page(PageFrame("Stakeholders", "staff",
                               {{"Staff", "/staff"}, {"Engagement", "/staff/engagement"}}),
                     content));
}

}  // namespace

void RegisterEngagementPages(Router& router) {
  router.Get("/staff/engagement", ListPage);
  router.Get("/staff/engagement/stakeholders", StakeholdersPage);
  router.Get(absl::StrCat("/staff/engagement/", kId), AggregatesPage);
  router.Post(absl::StrCat("/staff/engagement/", kId, "/(open|close|publish)"), Lifecycle);
}

}  // namespace dorset::console
