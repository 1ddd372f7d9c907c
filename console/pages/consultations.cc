// The public list of consultations and each consultation's page (no login). Drafts are never
// shown: an address for a draft is "Page not found", as for one that does not exist.
#include <httplib.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "console/layout.h"
#include "console/pages/pages.h"
#include "console/pages/public_text.h"

namespace dorset::console {
namespace {

namespace v1 = engagement::v1;

// Every activity the public may see, in the service's order (all pages, bounded).
absl::StatusOr<std::vector<v1::Activity>> PublicActivities(ConsoleContext& context) {
  std::vector<v1::Activity> out;
  v1::ListActivitiesRequest request;
  request.set_page_size(100);
  for (int page = 0; page < 50; ++page) {
    absl::StatusOr<v1::ListActivitiesResponse> reply = context.engagement->ListActivities(request);
    if (!reply.ok()) return reply.status();
    for (const v1::Activity& a : reply->activities()) {
      if (IsPublic(a)) out.push_back(a);
    }
    if (reply->next_page_token().empty()) break;
    request.set_page_token(reply->next_page_token());
  }
  return out;
}

SafeHtml Section(const std::string& heading, const std::string& id,
                 const std::vector<const v1::Activity*>& activities, const std::string& empty) {
  if (activities.empty()) {
    return Render(R"html(<h2 id="{{id}}">{{heading}}</h2><p>{{empty}}</p>)html",
                  {{"id", id}, {"heading", heading}, {"empty", empty}});
  }
  SafeHtml rows;
  for (const v1::Activity* a : activities) {
    std::string dates = DateText(a->open_time());
    if (!DateText(a->close_time()).empty()) {
      absl::StrAppend(&dates, " to ", DateText(a->close_time()));
    } else if (!DateText(a->window_end_time()).empty()) {
      absl::StrAppend(&dates, " to ", DateText(a->window_end_time()));
    }
    rows += Render(R"html(<tr class="nhsuk-table__row">
<td class="nhsuk-table__cell"><a href="/consultations/{{id}}">{{title}}</a></td>
<td class="nhsuk-table__cell">{{kind}}</td>
<td class="nhsuk-table__cell">{{dates}}</td>
</tr>)html",
                   {{"id", ActivityId(a->name())},
                    {"title", a->title()},
                    {"kind", KindText(a->kind())},
                    {"dates", dates}});
  }
  return Render(
      R"html(<h2 id="{{id}}">{{heading}} <span class="nhsuk-u-secondary-text-color" data-count="{{id}}">({{count}})</span></h2>
<table class="nhsuk-table" aria-labelledby="{{id}}">
<thead class="nhsuk-table__head"><tr class="nhsuk-table__row">
<th scope="col" class="nhsuk-table__header">Title</th>
<th scope="col" class="nhsuk-table__header">Kind</th>
<th scope="col" class="nhsuk-table__header">Dates</th>
</tr></thead>
<tbody class="nhsuk-table__body">{{rows}}</tbody>
</table>)html",
      {{"id", id},
       {"heading", heading},
       {"count", std::to_string(activities.size())},
       {"rows", rows}});
}

void ListPage(const httplib::Request&, httplib::Response& res, ConsoleContext& context) {
  absl::StatusOr<std::vector<v1::Activity>> activities = PublicActivities(context);
  if (!activities.ok()) return SendStatusPage(res, activities.status());
  std::vector<const v1::Activity*> open, closed, published;
  for (const v1::Activity& a : *activities) {
    if (a.state() == v1::ACTIVITY_STATE_OPEN) open.push_back(&a);
    if (a.state() == v1::ACTIVITY_STATE_CLOSED) closed.push_back(&a);
    if (a.state() == v1::ACTIVITY_STATE_OUTCOME_PUBLISHED) published.push_back(&a);
  }
  SafeHtml content = Trusted(R"html(<h1>Consultations</h1>
<p class="nhsuk-lede-text">Have your say on how health services in Dorset are planned, and see what we did with what people told us.</p>)html");
  content += Section("Open for responses", "open", open,
                     "There are no consultations open for responses just now.");
  content += Section("Outcome published: we asked, you said, we did", "published", published,
                     "No outcomes have been published yet.");
  content += Section("Closed, outcome to follow", "closed", closed,
                     "No consultations are waiting for their outcome.");
  SendPage(res, Page({"Consultations", "consultations"}, content));
}

void ConsultationPage(const httplib::Request& req, httplib::Response& res,
                      ConsoleContext& context) {
  v1::GetActivityRequest request;
  request.set_name(absl::StrCat("activities/", req.matches[1].str()));
  absl::StatusOr<v1::Activity> activity = context.engagement->GetActivity(request);
  if (activity.ok() && !IsPublic(*activity)) activity = absl::NotFoundError("draft");
  if (!activity.ok()) return SendStatusPage(res, activity.status());
  const v1::Activity& a = *activity;
  const std::string id = ActivityId(a.name());

  std::map<std::string, std::string> names = LocalityNames(*context.registry);
  std::vector<std::string> localities;
  for (const std::string& l : a.localities()) {
    auto it = names.find(l);
    localities.push_back(it != names.end() ? it->second : l);
  }
  auto row = [](const std::string& key, const std::string& value) {
    if (value.empty()) return SafeHtml();
    return Render(
        R"html(<div class="nhsuk-summary-list__row"><dt class="nhsuk-summary-list__key">{{key}}</dt><dd class="nhsuk-summary-list__value">{{value}}</dd></div>)html",
        {{"key", key}, {"value", value}});
  };
  SafeHtml details;
  details += row("Kind", KindText(a.kind()));
  details += row("Opened", DateText(a.open_time()));
  details += row("Planned to close", DateText(a.window_end_time()));
  details += row("Closed", DateText(a.close_time()));
  details += row("Outcome published", DateText(a.publish_time()));
  details +=
      row("Localities", localities.empty() ? "All of Dorset" : absl::StrJoin(localities, ", "));

  SafeHtml action;
  if (a.state() == v1::ACTIVITY_STATE_OPEN) {
    action = Render(
        R"html(<p><a class="nhsuk-button" href="/consultations/{{id}}/respond" role="button" draggable="false" data-module="nhsuk-button">Respond to this consultation</a></p>)html",
        {{"id", id}});
  } else if (a.state() == v1::ACTIVITY_STATE_OUTCOME_PUBLISHED) {
    action = Render(
        R"html(<div class="nhsuk-inset-text"><span class="nhsuk-u-visually-hidden">Information: </span>
<p>{{summary}}</p></div>
<p><a class="nhsuk-action-link__link" href="/consultations/{{id}}/you-said-we-did">We asked, you said, we did: read what we did</a></p>)html",
        {{"id", id}, {"summary", a.outcome_summary()}});
  } else {
    action = Trusted(
        R"html(<p>This consultation is closed. We will publish what we did with what people told us here.</p>)html");
  }
  SafeHtml content = Render(R"html(<h1>{{title}}</h1>
<p>{{state}}</p>
<h2>What this consultation is about</h2>
<p>{{purpose}}</p>
<dl class="nhsuk-summary-list">{{details}}</dl>
{{action}})html",
                            {{"title", a.title()},
                             {"state", StateTag(a.state())},
                             {"purpose", a.purpose().empty() ? a.title() : a.purpose()},
                             {"details", details},
                             {"action", action}});
  SendPage(res, Page({a.title(), "consultations", {{"Consultations", "/consultations"}}}, content));
}

}  // namespace

void RegisterConsultationPages(Router& router) {
  router.Get("/consultations", ListPage);
  router.Get(R"(/consultations/([A-Za-z0-9][A-Za-z0-9._~-]{0,62}))", ConsultationPage);
}

}  // namespace dorset::console
