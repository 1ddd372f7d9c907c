// "We asked, you said, we did" for a published outcome (no login): each theme with how many
// responses raised it (and their sentiment) and the published decisions answering it with their
// delivery; then, in people's own words, only the responses whose authors consented to
// publication, with no personal data (no names or contacts: the console's principal cannot read
// them, and only the text, its themes and locality are shown).
#include <httplib.h>

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "console/layout.h"
#include "console/pages/pages.h"
#include "console/pages/public_text.h"

namespace dorset::console {
namespace {

namespace v1 = engagement::v1;

constexpr int kMaxQuotes = 50;  // responses quoted on the page

SafeHtml DecisionList(const google::protobuf::RepeatedPtrField<v1::Decision>& decisions) {
  if (decisions.empty()) {
    return Trusted(R"html(<p>No decision answers this theme yet.</p>)html");
  }
  SafeHtml items;
  for (const v1::Decision& d : decisions) {
    std::string delivery = DeliveryText(d.delivery().status());
    if (d.delivery().status() == v1::DELIVERY_STATUS_IN_PROGRESS) {
      absl::StrAppend(&delivery, " (", d.delivery().percent_complete(), "% complete)");
    }
    items += Render(
        R"html(<li class="dorset-decision"><p><strong>We did:</strong> {{summary}}</p>
{{rationale}}<p class="nhsuk-body-s">Delivery: {{delivery}}{{reason}}</p></li>)html",
        {{"summary", d.summary()},
         {"rationale",
          d.rationale().empty() ? SafeHtml() : Render("<p>Why: {{r}}</p>", {{"r", d.rationale()}})},
         {"delivery", delivery},
         {"reason", d.delivery().reason().empty() ? std::string()
                                                  : absl::StrCat(". ", d.delivery().reason())}});
  }
  return Render(R"html(<ul class="nhsuk-list">{{items}}</ul>)html", {{"items", items}});
}

SafeHtml SentimentTable(const v1::YouSaidWeDid::ThemeOutcome& outcome, const std::string& id) {
  if (outcome.by_sentiment().empty()) return SafeHtml();
  SafeHtml rows;
  for (const v1::Count& c : outcome.by_sentiment()) {
    rows += Render(
        R"html(<tr class="nhsuk-table__row"><td class="nhsuk-table__cell">{{key}}</td><td class="nhsuk-table__cell nhsuk-table__cell--numeric">{{n}}</td></tr>)html",
        {{"key", SentimentText(c.key())}, {"n", std::to_string(c.responses())}});
  }
  return Render(R"html(<table class="nhsuk-table">
<caption class="nhsuk-table__caption nhsuk-table__caption--s">What people thought ({{theme}})</caption>
<thead class="nhsuk-table__head"><tr class="nhsuk-table__row"><th scope="col" class="nhsuk-table__header">View</th><th scope="col" class="nhsuk-table__header nhsuk-table__header--numeric">Responses</th></tr></thead>
<tbody class="nhsuk-table__body">{{rows}}</tbody></table>)html",
                {{"theme", outcome.theme().display_name()}, {"rows", rows}, {"id", id}});
}

// Up to kMaxQuotes consented responses with text, newest pages first as the service lists them.
absl::StatusOr<std::vector<v1::Response>> ConsentedResponses(ConsoleContext& context,
                                                             const std::string& activity) {
  std::vector<v1::Response> out;
  v1::ListResponsesRequest request;
  request.set_parent(activity);
  request.set_page_size(500);
  for (int page = 0; page < 20 && out.size() < kMaxQuotes; ++page) {
    absl::StatusOr<v1::ListResponsesResponse> reply = context.engagement->ListResponses(request);
    if (!reply.ok()) return reply.status();
    for (const v1::Response& r : reply->responses()) {
      // Consent is the author's; the text is empty for everyone else's (redacted) anyway.
      if (r.publish_consent() && !r.text().empty() && out.size() < kMaxQuotes) out.push_back(r);
    }
    if (reply->next_page_token().empty()) break;
    request.set_page_token(reply->next_page_token());
  }
  return out;
}

void YouSaidWeDidPage(const httplib::Request& req, httplib::Response& res,
                      ConsoleContext& context) {
  const std::string activity = absl::StrCat("activities/", req.matches[1].str());
  v1::GetActivityRequest get;
  get.set_name(activity);
  absl::StatusOr<v1::Activity> a = context.engagement->GetActivity(get);
  if (a.ok() && a->state() != v1::ACTIVITY_STATE_OUTCOME_PUBLISHED) {
    a = absl::NotFoundError("no published outcome");
  }
  if (!a.ok()) return SendStatusPage(res, a.status());
  v1::GetYouSaidWeDidRequest request;
  request.set_name(activity + "/youSaidWeDid");
  absl::StatusOr<v1::YouSaidWeDid> ysw = context.engagement->GetYouSaidWeDid(request);
  if (!ysw.ok()) return SendStatusPage(res, ysw.status());
  absl::StatusOr<std::vector<v1::Response>> quotes = ConsentedResponses(context, activity);
  if (!quotes.ok()) return SendStatusPage(res, quotes.status());

  std::map<std::string, std::string> theme_names;
  SafeHtml themes;
  int index = 0;
  for (const auto& t : ysw->themes()) {
    theme_names[t.theme().name()] = t.theme().display_name();
    const std::string id = absl::StrCat("theme-", ++index);
    themes += Render(
        R"html(<section class="nhsuk-card" aria-labelledby="{{id}}"><div class="nhsuk-card__content">
<h3 class="nhsuk-card__heading" id="{{id}}">{{name}}</h3>
{{description}}
<p><strong>You said:</strong> <span data-theme-responses="{{theme}}">{{count}}</span> {{noun}} raised this.</p>
{{sentiment}}
{{decisions}}
</div></section>)html",
        {{"id", id},
         {"name", t.theme().display_name()},
         {"theme", t.theme().name()},
         {"description", t.theme().description().empty()
                             ? SafeHtml()
                             : Render("<p>{{d}}</p>", {{"d", t.theme().description()}})},
         {"count", std::to_string(t.responses())},
         {"noun", t.responses() == 1 ? "response" : "responses"},
         {"sentiment", SentimentTable(t, id)},
         {"decisions", DecisionList(t.decisions())}});
  }
  if (ysw->themes().empty()) themes = Trusted("<p>No themes were recorded.</p>");
  SafeHtml other;
  if (!ysw->other_decisions().empty()) {
    other = Render(R"html(<h2>Other decisions</h2>{{list}})html",
                   {{"list", DecisionList(ysw->other_decisions())}});
  }

  std::map<std::string, std::string> localities = LocalityNames(*context.registry);
  SafeHtml said;
  for (const v1::Response& r : *quotes) {
    std::vector<std::string> about;
    for (const std::string& t : r.themes()) {
      auto it = theme_names.find(t);
      if (it != theme_names.end()) about.push_back(it->second);
    }
    std::string where;
    if (auto it = localities.find(r.locality()); it != localities.end()) where = it->second;
    std::string meta = about.empty() ? std::string("No theme")
                                     : absl::StrCat("About: ", absl::StrJoin(about, ", "));
    if (!where.empty()) absl::StrAppend(&meta, ". From: ", where);
    said += Render(R"html(<li><blockquote class="dorset-quote"><p>{{text}}</p></blockquote>
<p class="nhsuk-body-s nhsuk-u-secondary-text-color">{{meta}}</p></li>)html",
                   {{"text", r.text()}, {"meta", meta}});
  }
  if (said.empty())
    said = Trusted("<p>Nobody who responded asked for their words to be published.</p>");
  else
    said = Render(R"html(<ul class="nhsuk-list">{{items}}</ul>)html", {{"items", said}});

  const std::string id = ActivityId(a->name());
  SafeHtml content = Render(
      R"html(<h1>We asked, you said, we did: {{title}}</h1>
<h2>We asked</h2>
<p>{{purpose}}</p>
<p><span data-total-responses>{{total}}</span> {{noun}} received{{participants}}.</p>
<h2>We did</h2>
<div class="nhsuk-inset-text"><span class="nhsuk-u-visually-hidden">Information: </span><p>{{summary}}</p></div>
<h2>You said, by theme</h2>
{{themes}}
{{other}}
<h2>In your words</h2>
<p>Only responses whose authors agreed to publication are shown, without names or contact details.</p>
{{said}})html",
      {{"title", ysw->activity_title()},
       {"purpose", a->purpose().empty() ? a->title() : a->purpose()},
       {"total", std::to_string(ysw->total_responses())},
       {"noun", ysw->total_responses() == 1 ? "response" : "responses"},
       {"participants",
        ysw->reported_participants() > 0
            ? absl::StrCat(", and ", ysw->reported_participants(), " people took part in events")
            : std::string()},
       {"summary", ysw->outcome_summary()},
       {"themes", themes},
       {"other", other},
       {"said", said}});
  SendPage(res, Page({absl::StrCat("We asked, you said, we did: ", a->title()),
                      "consultations",
                      {{"Consultations", "/consultations"},
                       {a->title(), absl::StrCat("/consultations/", id)}}},
                     content));
}

}  // namespace

void RegisterYouSaidWeDidPage(Router& router) {
  router.Get(R"(/consultations/([A-Za-z0-9][A-Za-z0-9._~-]{0,62})/you-said-we-did)",
             YouSaidWeDidPage);
}

}  // namespace dorset::console
