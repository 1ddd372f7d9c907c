// The registry pages (login), as the logged-in person reads the registry (registry-read):
//   /staff/registry?name=&postcode=&locality=&status=   search practices (a GET form);
//   /staff/registry/practices/{code}                      a practice with its successor and its
//                                                         history (every revision, who and when);
//   /staff/registry/areas                                 clusters and their localities with
//                                                         practices and registered populations.
#include <httplib.h>

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "console/layout.h"
#include "console/pages/pages.h"
#include "console/pages/public_text.h"

namespace dorset::console {
namespace {

namespace v1 = registry::v1;
using Stub = v1::RegistryService::Stub;

// One registry call as the person.
template <typename Request, typename Reply>
absl::StatusOr<Reply> AsThem(ConsoleContext& context, const Session& session,
                             grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                                          Reply*),
                             const Request& request) {
  return runtime::CallUnary(context.registry->stub(), method, request,
                            runtime::ServiceClientOptions(), AsPerson(session));
}

std::string StatusWord(v1::Practice::Status status) {
  switch (status) {
    case v1::Practice::STATUS_ACTIVE:
      return "Active";
    case v1::Practice::STATUS_CLOSED:
      return "Closed";
    case v1::Practice::STATUS_DORMANT:
      return "Dormant";
    case v1::Practice::STATUS_PROPOSED:
      return "Proposed";
    default:
      return "Unknown";
  }
}

std::string Code(const std::string& name) { return name.substr(name.rfind('/') + 1); }

SafeHtml Option(const std::string& value, const std::string& text, const std::string& selected) {
  return Render(value == selected ? R"html(<option value="{{v}}" selected>{{t}}</option>)html"
                                  : R"html(<option value="{{v}}">{{t}}</option>)html",
                {{"v", value}, {"t", text}});
}

void SearchPage(const httplib::Request& req, httplib::Response& res, ConsoleContext& context) {
  std::optional<Session> session = RequireLogin(req, res, context);
  if (!session) return;
  const std::string name = req.get_param_value("name");
  const std::string postcode = req.get_param_value("postcode");
  const std::string locality = req.get_param_value("locality");
  const std::string status = req.get_param_value("status");
  v1::ListLocalitiesRequest localities_request;
  localities_request.set_page_size(1000);
  absl::StatusOr<v1::ListLocalitiesResponse> localities =
      AsThem(context, *session, &Stub::ListLocalities, localities_request);
  if (!localities.ok()) return SendPersonStatusPage(req, res, context, localities.status());
  v1::ListPracticesRequest request;
  request.set_page_size(200);
  request.set_name_contains(name);
  request.set_postcode_prefix(postcode);
  request.set_locality(locality);
  v1::Practice::Status wanted;
  if (!status.empty() && v1::Practice::Status_Parse(status, &wanted)) request.add_statuses(wanted);
  absl::StatusOr<v1::ListPracticesResponse> practices =
      AsThem(context, *session, &Stub::ListPractices, request);
  if (!practices.ok()) return SendPersonStatusPage(req, res, context, practices.status());

  std::map<std::string, std::string> locality_names;
  SafeHtml locality_options = Option("", "Any locality", locality);
  for (const v1::Locality& l : localities->localities()) {
    locality_names[l.name()] = l.display_name();
    locality_options += Option(l.name(), l.display_name(), locality);
  }
  SafeHtml status_options = Option("", "Any status", status);
  for (const char* s : {"STATUS_ACTIVE", "STATUS_CLOSED", "STATUS_DORMANT", "STATUS_PROPOSED"}) {
    v1::Practice::Status value = v1::Practice::STATUS_UNSPECIFIED;
    if (!v1::Practice::Status_Parse(s, &value)) continue;  // a name the proto no longer has
    status_options += Option(s, StatusWord(value), status);
  }
  SafeHtml rows;
  for (const v1::Practice& p : practices->practices()) {
    rows += Render(R"html(<tr class="nhsuk-table__row" data-practice="{{code}}">
<th scope="row" class="nhsuk-table__header"><a href="/staff/registry/practices/{{code}}">{{display}}</a></th>
<td class="nhsuk-table__cell">{{code}}</td><td class="nhsuk-table__cell">{{postcode}}</td>
<td class="nhsuk-table__cell">{{locality}}</td><td class="nhsuk-table__cell">{{status}}</td></tr>)html",
                   {{"code", Code(p.name())},
                    {"display", p.display_name()},
                    {"postcode", p.postcode()},
                    {"locality", locality_names.count(p.locality()) ? locality_names[p.locality()]
                                                                    : p.locality()},
                    {"status", StatusWord(p.status())}});
  }
  SafeHtml content = Render(R"html(<h1>Registry</h1>
<p><a href="/staff/registry/areas">Clusters and localities</a></p>
<form method="get" action="/staff/registry">
<div class="nhsuk-form-group"><label class="nhsuk-label" for="name">Practice name contains</label>
<input class="nhsuk-input nhsuk-input--width-20" id="name" name="name" type="text" value="{{name}}"></div>
<div class="nhsuk-form-group"><label class="nhsuk-label" for="postcode">Postcode starts with</label>
<input class="nhsuk-input nhsuk-input--width-10" id="postcode" name="postcode" type="text" value="{{postcode}}"></div>
<div class="nhsuk-form-group"><label class="nhsuk-label" for="locality">Locality</label>
<select class="nhsuk-select" id="locality" name="locality">{{localities}}</select></div>
<div class="nhsuk-form-group"><label class="nhsuk-label" for="status">Status</label>
<select class="nhsuk-select" id="status" name="status">{{statuses}}</select></div>
<button class="nhsuk-button nhsuk-button--secondary" data-module="nhsuk-button" type="submit">Search</button>
</form>
<table class="nhsuk-table"><caption class="nhsuk-table__caption">Practices found: <span data-practice-count>{{count}}</span></caption>
<thead class="nhsuk-table__head"><tr class="nhsuk-table__row"><th scope="col" class="nhsuk-table__header">Practice</th>
<th scope="col" class="nhsuk-table__header">ODS code</th><th scope="col" class="nhsuk-table__header">Postcode</th>
<th scope="col" class="nhsuk-table__header">Locality</th><th scope="col" class="nhsuk-table__header">Status</th></tr></thead>
<tbody class="nhsuk-table__body">{{rows}}</tbody></table>)html",
                            {{"name", name},
                             {"postcode", postcode},
                             {"localities", locality_options},
                             {"statuses", status_options},
                             {"count", std::to_string(practices->practices_size())},
                             {"rows", rows}});
  SendPage(res, Page(PageFrame("Registry", "staff", {{"Staff", "/staff"}}), content));
}

void PracticePage(const httplib::Request& req, httplib::Response& res, ConsoleContext& context) {
  std::optional<Session> session = RequireLogin(req, res, context);
  if (!session) return;
  const std::string name = absl::StrCat("practices/", req.matches[1].str());
  v1::GetPracticeRequest get;
  get.set_name(name);
  absl::StatusOr<v1::Practice> p = AsThem(context, *session, &Stub::GetPractice, get);
  if (!p.ok()) return SendPersonStatusPage(req, res, context, p.status());
  v1::ListPracticeRevisionsRequest history_request;
  history_request.set_name(name);
  history_request.set_page_size(200);
  absl::StatusOr<v1::ListPracticeRevisionsResponse> history =
      AsThem(context, *session, &Stub::ListPracticeRevisions, history_request);
  if (!history.ok()) return SendPersonStatusPage(req, res, context, history.status());
  const std::map<std::string, std::string> localities = LocalityNames(*context.registry);
  SafeHtml revisions;
  for (const v1::PracticeRevision& r : history->revisions()) {
    revisions +=
        Render(R"html(<tr class="nhsuk-table__row"><td class="nhsuk-table__cell">{{revision}}</td>
<td class="nhsuk-table__cell">{{when}}</td><td class="nhsuk-table__cell">{{kind}}</td>
<td class="nhsuk-table__cell">{{status}}</td><td class="nhsuk-table__cell">{{actor}}</td></tr>)html",
               {{"revision", std::to_string(r.revision())},
                {"when", DateText(r.create_time())},
                {"kind", v1::Change::Kind_Name(r.kind())},
                {"status", StatusWord(r.practice().status())},
                {"actor", r.actor()}});
  }
  auto row = [](const std::string& key, const HtmlValue& value) {
    return Render(
        R"html(<div class="nhsuk-summary-list__row"><dt class="nhsuk-summary-list__key">{{k}}</dt><dd class="nhsuk-summary-list__value">{{v}}</dd></div>)html",
        {{"k", key}, {"v", value}});
  };
  SafeHtml details;
  details += row("ODS code", Code(p->name()));
  details += row("Status", StatusWord(p->status()));
  details +=
      row("Address", absl::StrCat(absl::StrJoin(p->address_lines(), ", "), " ", p->postcode()));
  auto locality = localities.find(p->locality());
  details += row("Locality", locality != localities.end() ? locality->second : p->locality());
  details += row("Registered patients",
                 p->has_list_size() ? std::to_string(p->list_size()) : std::string("Not known"));
  details += row("Opened", p->open_date());
  if (!p->close_date().empty()) details += row("Closed", p->close_date());
  if (!p->successor().empty()) {
    details +=
        row("Successor", Render(R"html(<a href="/staff/registry/practices/{{c}}">{{c}}</a>)html",
                                {{"c", Code(p->successor())}}));
  }
  SafeHtml content =
      Render(R"html(<h1>{{title}}</h1>
<dl class="nhsuk-summary-list">{{details}}</dl>
<table class="nhsuk-table"><caption class="nhsuk-table__caption nhsuk-table__caption--s">History</caption>
<thead class="nhsuk-table__head"><tr class="nhsuk-table__row"><th scope="col" class="nhsuk-table__header">Revision</th>
<th scope="col" class="nhsuk-table__header">When</th><th scope="col" class="nhsuk-table__header">Change</th>
<th scope="col" class="nhsuk-table__header">Status after</th><th scope="col" class="nhsuk-table__header">By</th></tr></thead>
<tbody class="nhsuk-table__body">{{revisions}}</tbody></table>)html",
             {{"title", p->display_name()}, {"details", details}, {"revisions", revisions}});
  SendPage(res, Page(PageFrame(p->display_name(), "staff",
                               {{"Staff", "/staff"}, {"Registry", "/staff/registry"}}),
                     content));
}

void AreasPage(const httplib::Request& req, httplib::Response& res, ConsoleContext& context) {
  std::optional<Session> session = RequireLogin(req, res, context);
  if (!session) return;
  v1::ListClustersRequest clusters_request;
  clusters_request.set_page_size(1000);
  absl::StatusOr<v1::ListClustersResponse> clusters =
      AsThem(context, *session, &Stub::ListClusters, clusters_request);
  if (!clusters.ok()) return SendPersonStatusPage(req, res, context, clusters.status());
  v1::ListLocalitiesRequest localities_request;
  localities_request.set_page_size(1000);
  absl::StatusOr<v1::ListLocalitiesResponse> localities =
      AsThem(context, *session, &Stub::ListLocalities, localities_request);
  if (!localities.ok()) return SendPersonStatusPage(req, res, context, localities.status());
  SafeHtml tree;
  for (const v1::Cluster& c : clusters->clusters()) {
    SafeHtml items;
    for (const v1::Locality& l : localities->localities()) {
      if (l.cluster() != c.name()) continue;
      items += Render(
          R"html(<li data-locality="{{name}}">{{display}}: {{practices}} practices, <span data-population>{{patients}}</span> registered patients</li>)html",
          {{"name", l.name()},
           {"display", l.display_name()},
           {"practices", std::to_string(l.practice_count())},
           {"patients", std::to_string(l.registered_patients())}});
    }
    tree += Render(
        R"html(<li><strong>{{display}}</strong>: {{practices}} practices, {{patients}} registered patients
<ul class="nhsuk-list nhsuk-list--bullet">{{items}}</ul></li>)html",
        {{"display", c.display_name()},
         {"practices", std::to_string(c.practice_count())},
         {"patients", std::to_string(c.registered_patients())},
         {"items", items}});
  }
  SafeHtml content = Render(R"html(<h1>Clusters and localities</h1>
<ul class="nhsuk-list">{{tree}}</ul>)html",
                            {{"tree", tree}});
  SendPage(res, Page(PageFrame("Clusters and localities", "staff",
                               {{"Staff", "/staff"}, {"Registry", "/staff/registry"}}),
                     content));
}

}  // namespace

void RegisterRegistryPages(Router& router) {
  router.Get("/staff/registry", SearchPage);
  router.Get("/staff/registry/areas", AreasPage);
  router.Get(R"(/staff/registry/practices/([A-Z0-9]{3,10}))", PracticePage);
}

}  // namespace dorset::console
