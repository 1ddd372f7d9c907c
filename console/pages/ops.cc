// The ops page (login): for each service its version (/version), its liveness and readiness
// (/livez, /readyz with the one-line reason that names the cache state), its store
// (dorset_storage_writable) and cache breaker (dorset_cache_breaker_open), calls and error ratio
// from its own metrics (grpc_server_handled_total by grpc_code), the call rate since the previous
// look at this page, and the registry's change feed's latest sequence (ListChanges as the logged-in
// person, so the permission table decides whether they may see the page at all).
#include <httplib.h>

#include <map>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "console/layout.h"
#include "console/pages/pages.h"
#include "runtime/config/config.h"

namespace dorset::console {
namespace {

struct Probe {
  std::string name;
  std::string address;
  bool reached = false;
  int live_status = 0;
  int ready_status = 0;
  std::string ready_reason;
  std::string version;  // as /version says; empty when it did not answer 200
  std::optional<double> store_writable;
  std::optional<double> breaker_open;
  double calls = 0;
  double errors = 0;
  std::optional<double> rate;  // calls per second since the previous look
};

// The sum of a metric's samples (those whose labels contain `label`, when given).
struct Sums {
  std::map<std::string, double> by_name;
  double handled = 0;
  double handled_errors = 0;
};

Sums ParseMetrics(const std::string& text) {
  Sums sums;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    if (space == absl::string_view::npos) continue;
    double value = 0;
    if (!absl::SimpleAtod(line.substr(space + 1), &value)) continue;
    const absl::string_view series = line.substr(0, space);
    const std::string name(series.substr(0, series.find('{')));
    sums.by_name[name] += value;
    if (name == "grpc_server_handled_total") {
      sums.handled += value;
      if (series.find("grpc_code=\"OK\"") == absl::string_view::npos) sums.handled_errors += value;
    }
  }
  return sums;
}

// The previous look per service, for the call rate.
struct Previous {
  absl::Time when;
  double calls;
};
absl::Mutex previous_mu(absl::kConstInit);
std::map<std::string, Previous>* previous_looks ABSL_GUARDED_BY(previous_mu) =
    new std::map<std::string, Previous>;

Probe Look(const std::string& name, const std::string& address) {
  Probe probe;
  probe.name = name;
  probe.address = address;
  absl::StatusOr<std::pair<std::string, int>> host = runtime::SplitHostPort(address);
  if (address.empty() || !host.ok()) return probe;
  httplib::Client client(host->first, host->second);
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(3, 0);
  if (auto live = client.Get("/livez")) {
    probe.reached = true;
    probe.live_status = live->status;
  }
  if (auto ready = client.Get("/readyz")) {
    probe.ready_status = ready->status;
    probe.ready_reason = std::string(absl::StripTrailingAsciiWhitespace(ready->body));
  }
  if (auto version = client.Get("/version"); version && version->status == 200) {
    probe.version = std::string(absl::StripTrailingAsciiWhitespace(version->body));
  }
  if (auto metrics = client.Get("/metrics"); metrics && metrics->status == 200) {
    const Sums sums = ParseMetrics(metrics->body);
    if (auto it = sums.by_name.find("dorset_storage_writable"); it != sums.by_name.end()) {
      probe.store_writable = it->second;
    }
    if (auto it = sums.by_name.find("dorset_cache_breaker_open"); it != sums.by_name.end()) {
      probe.breaker_open = it->second;
    }
    probe.calls = sums.handled;
    probe.errors = sums.handled_errors;
    const absl::Time now = absl::Now();
    absl::MutexLock lock(&previous_mu);
    auto [it, first] = previous_looks->try_emplace(address, Previous{now, probe.calls});
    if (!first) {
      const double seconds = absl::ToDoubleSeconds(now - it->second.when);
      if (seconds > 0.1 && probe.calls >= it->second.calls) {
        probe.rate = (probe.calls - it->second.calls) / seconds;
      }
      it->second = Previous{now, probe.calls};
    }
  }
  return probe;
}

SafeHtml Row(const Probe& p) {
  auto status_tag = [](int status, const char* good) {
    if (status == 200) return Tag(good, "green");
    if (status == 0) return Tag("Not reached", "red");
    return Tag(absl::StrCat("HTTP ", status), "red");
  };
  const std::string store = !p.store_writable        ? "Not reported"
                            : *p.store_writable >= 1 ? "Writable"
                                                     : "Not writable";
  const std::string cache = !p.breaker_open        ? "Not reported"
                            : *p.breaker_open >= 1 ? "Breaker open (fail-open)"
                                                   : "Connected";
  const std::string ratio =
      p.calls > 0 ? absl::StrFormat("%.1f%%", 100.0 * p.errors / p.calls) : std::string("None");
  const std::string rate =
      p.rate ? absl::StrFormat("%.2f a second", *p.rate) : std::string("Reload to measure");
  return Render(R"html(<tr class="nhsuk-table__row" data-service="{{name}}">
<th scope="row" class="nhsuk-table__header">{{name}}<br><span class="nhsuk-body-s">{{address}}</span><br><span class="nhsuk-body-s">Version <span data-version>{{version}}</span></span></th>
<td class="nhsuk-table__cell">{{live}}</td>
<td class="nhsuk-table__cell">{{ready}}<br><span class="nhsuk-body-s" data-ready-reason>{{reason}}</span></td>
<td class="nhsuk-table__cell">{{store}}</td>
<td class="nhsuk-table__cell">{{cache}}</td>
<td class="nhsuk-table__cell nhsuk-table__cell--numeric" data-calls>{{calls}}</td>
<td class="nhsuk-table__cell nhsuk-table__cell--numeric">{{ratio}}</td>
<td class="nhsuk-table__cell nhsuk-table__cell--numeric">{{rate}}</td>
</tr>)html",
                {{"name", p.name},
                 {"address", p.address},
                 {"version", p.version.empty() ? std::string("Not reported") : p.version},
                 {"live", status_tag(p.live_status, "Live")},
                 {"ready", status_tag(p.ready_status, "Ready")},
                 {"reason", p.ready_reason},
                 {"store", store},
                 {"cache", cache},
                 {"calls", absl::StrFormat("%.0f", p.calls)},
                 {"ratio", ratio},
                 {"rate", rate}});
}

void OpsPage(const httplib::Request& req, httplib::Response& res, ConsoleContext& context) {
  std::optional<Session> session = RequireLogin(req, res, context);
  if (!session) return;
  // The change feed, as this person: the page is theirs only if the registry lets them read it.
  registry::v1::ListChangesRequest request;
  request.set_page_size(1);
  registry::v1::ListChangesResponse changes;
  std::unique_ptr<grpc::ClientContext> call =
      runtime::NewCallContext(runtime::ServiceClientOptions(), AsPerson(*session));
  const absl::Status status =
      runtime::FromGrpcStatus(context.registry->stub().ListChanges(call.get(), request, &changes));
  if (!status.ok()) return SendPersonStatusPage(req, res, context, status);

  SafeHtml rows;
  for (const auto& [name, address] :
       {std::pair<std::string, std::string>{"Registry", context.registry_ops},
        {"Finance", context.finance_ops},
        {"Engagement", context.engagement_ops}}) {
    rows += Row(Look(name, address));
  }
  SafeHtml content =
      Render(R"html(<h1>Operations</h1>
<table class="nhsuk-table">
<caption class="nhsuk-table__caption">Every service, from its own ops endpoints</caption>
<thead class="nhsuk-table__head"><tr class="nhsuk-table__row">
<th scope="col" class="nhsuk-table__header">Service and version</th>
<th scope="col" class="nhsuk-table__header">Liveness</th>
<th scope="col" class="nhsuk-table__header">Readiness</th>
<th scope="col" class="nhsuk-table__header">Store</th>
<th scope="col" class="nhsuk-table__header">Cache</th>
<th scope="col" class="nhsuk-table__header nhsuk-table__header--numeric">Calls since start</th>
<th scope="col" class="nhsuk-table__header nhsuk-table__header--numeric">Errors</th>
<th scope="col" class="nhsuk-table__header nhsuk-table__header--numeric">Call rate</th>
</tr></thead>
<tbody class="nhsuk-table__body">{{rows}}</tbody>
</table>
<h2>Registry change feed</h2>
<p>Latest sequence: <strong data-latest-sequence>{{sequence}}</strong></p>
<p class="nhsuk-body-s">Calls and errors count every gRPC call each process has answered since it started (errors: any code but OK). A version is the project's and the git commit each service was built from.</p>)html",
             {{"rows", rows}, {"sequence", std::to_string(changes.latest_sequence())}});
  SendPage(res, Page(PageFrame("Operations", "staff", {{"Staff", "/staff"}}), content));
}

}  // namespace

void RegisterOpsPage(Router& router) { router.Get("/staff/ops", OpsPage); }

}  // namespace dorset::console
