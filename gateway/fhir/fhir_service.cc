// The FHIR R4 face of the registry (see fhir_service.h and docs/fhir.md).
#include "gateway/fhir/fhir_service.h"

#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gateway/fhir/capability.h"
#include "gateway/fhir/fhir_json.h"
#include "gateway/fhir/operation_outcome.h"
#include "gateway/fhir/organization_map.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/client_context.h"

namespace dorset::gateway::fhir {
namespace {

namespace v1 = registry::v1;

// A context carrying the caller's credentials, request id and deadline to the registry.
std::unique_ptr<grpc::ClientContext> CallContext(const FhirRequest& request) {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!request.authorization.empty()) {
    context->AddMetadata("authorization", request.authorization);
  }
  if (!request.request_id.empty()) context->AddMetadata("x-request-id", request.request_id);
  if (request.timeout) context->set_deadline(absl::ToChronoTime(absl::Now() + *request.timeout));
  return context;
}

FhirResponse Ok(const Json& resource) {
  FhirResponse response;
  response.body = resource.Serialize();
  return response;
}

std::string PercentEncode(absl::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppendFormat(&out, "%%%02X", c);
    }
  }
  return out;
}

std::string SearchUrl(const FhirRequest& request, const QueryList& params,
                      const std::string& page_token) {
  std::vector<std::string> parts;
  for (const auto& [name, value] : params) {
    parts.push_back(absl::StrCat(PercentEncode(name), "=", PercentEncode(value)));
  }
  if (!page_token.empty()) parts.push_back(absl::StrCat("_page_token=", PercentEncode(page_token)));
  std::string url = absl::StrCat(request.base_url, kFhirPathPrefix, "/Organization");
  if (!parts.empty()) absl::StrAppend(&url, "?", absl::StrJoin(parts, "&"));
  return url;
}

Json Link(const char* relation, const std::string& url) {
  return Json::Object().Set("relation", relation).Set("url", url);
}

bool Lenient(const FhirRequest& request) {
  for (absl::string_view part : absl::StrSplit(request.prefer, ',')) {
    if (absl::StripAsciiWhitespace(part) == "handling=lenient") return true;
  }
  return false;
}

absl::Time ToTime(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixMicros(google::protobuf::util::TimeUtil::TimestampToMicroseconds(timestamp));
}

FhirResponse NotFound(const std::string& id) {
  return Outcome(404, "not-found", absl::StrCat("Organization/", id, " is not known"));
}

}  // namespace

std::string BaseUrl(bool tls, const std::string& host_header) {
  std::string host = host_header;
  bool plausible = !host.empty() && host.size() <= 255;
  for (char c : host) {
    plausible = plausible && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ||
                              c == ':' || c == '[' || c == ']');
  }
  if (!plausible) host = "localhost";
  return absl::StrCat(tls ? "https" : "http", "://", host);
}

FhirService::FhirService(std::shared_ptr<grpc::Channel> registry)
    : stub_(v1::RegistryService::NewStub(std::move(registry))) {}

FhirResponse FhirService::Handle(const FhirRequest& request) {
  absl::string_view path = request.path;
  if (!absl::ConsumePrefix(&path, kFhirPathPrefix) || (!path.empty() && path[0] != '/')) {
    return Outcome(404, "not-found", "FHIR is served under /fhir/R4");
  }
  if (request.method != "GET" && request.method != "HEAD") {
    FhirResponse response =
        Outcome(405, "not-supported", "this FHIR server is read-only: GET only");
    response.headers.emplace_back("Allow", "GET");
    return response;
  }
  const std::vector<std::string> segments = absl::StrSplit(path, '/');
  // segments[0] is "" (the path starts with '/').
  if (segments.size() == 2 && segments[1] == "metadata") {
    FhirResponse response;
    response.body = CapabilityStatementJson(request.base_url);
    return response;
  }
  if (segments.size() >= 2 && segments[1] == "Organization") {
    if (segments.size() == 2) return Search(request);
    if (segments.size() == 3 && !segments[2].empty()) {
      if (!request.query.empty() && !Lenient(request)) {
        for (const auto& [name, value] : request.query) {
          if (name != "_format") {
            return Outcome(400, "not-supported",
                           absl::StrCat("parameter '", name, "' is not supported on a read"));
          }
        }
      }
      return Read(request, segments[2]);
    }
    if (segments.size() == 4 && !segments[2].empty() && segments[3] == "_history") {
      return History(request, segments[2]);
    }
  }
  return Outcome(404, "not-found",
                 "no such FHIR interaction (see /fhir/R4/metadata for what is supported)");
}

FhirResponse FhirService::Read(const FhirRequest& request, const std::string& id) {
  std::optional<OrganizationId> parsed = ParseOrganizationId(id);
  if (!parsed) return NotFound(id);
  switch (parsed->kind) {
    case OrganizationId::Kind::kPractice: {
      v1::GetPracticeRequest get;
      get.set_name(absl::StrCat("practices/", parsed->key));
      v1::Practice practice;
      grpc::Status status = stub_->GetPractice(CallContext(request).get(), get, &practice);
      if (!status.ok()) return OutcomeFor(status);
      FhirResponse response = Ok(PracticeOrganization(practice));
      if (std::optional<int64_t> revision = RevisionFromEtag(practice.etag())) {
        response.headers.emplace_back("ETag", absl::StrCat("W/\"", *revision, "\""));
      }
      return response;
    }
    case OrganizationId::Kind::kLocality: {
      v1::GetLocalityRequest get;
      get.set_name(absl::StrCat("localities/", parsed->key));
      v1::Locality locality;
      grpc::Status status = stub_->GetLocality(CallContext(request).get(), get, &locality);
      if (!status.ok()) return OutcomeFor(status);
      return Ok(LocalityOrganization(locality));
    }
    case OrganizationId::Kind::kCluster: {
      v1::GetClusterRequest get;
      get.set_name(absl::StrCat("clusters/", parsed->key));
      v1::Cluster cluster;
      grpc::Status status = stub_->GetCluster(CallContext(request).get(), get, &cluster);
      if (!status.ok()) return OutcomeFor(status);
      return Ok(ClusterOrganization(cluster));
    }
    case OrganizationId::Kind::kOdsOrganisation: {
      // A governing body (sub-ICB location) by its code, else the ICB of the default one.
      v1::GetAreaSummaryRequest get;
      get.set_name(absl::StrCat("governingBodies/", parsed->key));
      v1::AreaSummary summary;
      grpc::Status status = stub_->GetAreaSummary(CallContext(request).get(), get, &summary);
      if (status.ok()) return Ok(SubIcbOrganization(summary.governing_body()));
      if (status.error_code() != grpc::StatusCode::NOT_FOUND) return OutcomeFor(status);
      v1::AreaSummary area;
      status =
          stub_->GetAreaSummary(CallContext(request).get(), v1::GetAreaSummaryRequest(), &area);
      if (!status.ok()) return OutcomeFor(status);
      if (area.governing_body().icb() == parsed->key) {
        return Ok(IcbOrganization(area.governing_body()));
      }
      return NotFound(id);
    }
  }
  return NotFound(id);
}

FhirResponse FhirService::Search(const FhirRequest& request) {
  absl::StatusOr<SearchQuery> search = ParseSearch(request.query, Lenient(request));
  if (!search.ok()) {
    return Outcome(400, absl::IsUnimplemented(search.status()) ? "not-supported" : "invalid",
                   std::string(search.status().message()));
  }
  const bool totals_only = search->summary_count || search->count_zero;
  if (totals_only) search->list.set_page_size(1);
  // A filter nothing matches still asks the registry (one row), so the caller's token is
  // checked as for any search.
  if (search->matches_nothing) search->list.set_page_size(1);
  v1::ListPracticesResponse page;
  grpc::Status status = stub_->ListPractices(CallContext(request).get(), search->list, &page);
  if (!status.ok()) return OutcomeFor(status);

  Json bundle = Json::Object().Set("resourceType", "Bundle").Set("type", "searchset");
  bundle.Set("total", Json::Int(search->matches_nothing ? 0 : page.total_size()));
  Json links =
      Json::Array().Add(Link("self", SearchUrl(request, search->used, search->list.page_token())));
  if (!totals_only && !search->matches_nothing && !page.next_page_token().empty()) {
    links.Add(Link("next", SearchUrl(request, search->used, page.next_page_token())));
  }
  bundle.Set("link", std::move(links));
  if (!totals_only && !search->matches_nothing && page.practices_size() > 0) {
    Json entries = Json::Array();
    for (const v1::Practice& practice : page.practices()) {
      entries.Add(Json::Object()
                      .Set("fullUrl", absl::StrCat(request.base_url, kFhirPathPrefix,
                                                   "/Organization/", practice.ods_code()))
                      .Set("resource", PracticeOrganization(practice))
                      .Set("search", Json::Object().Set("mode", "match")));
    }
    bundle.Set("entry", std::move(entries));
  }
  return Ok(bundle);
}

FhirResponse FhirService::History(const FhirRequest& request, const std::string& id) {
  std::optional<OrganizationId> parsed = ParseOrganizationId(id);
  if (!parsed) return NotFound(id);
  if (parsed->kind != OrganizationId::Kind::kPractice) {
    return Outcome(400, "not-supported",
                   "history is kept for practices only (localities, clusters and governing "
                   "bodies have no revisions)");
  }
  v1::ListPracticeRevisionsRequest list;
  list.set_name(absl::StrCat("practices/", parsed->key));
  list.set_page_size(kDefaultCount);
  QueryList used;
  for (const auto& [name, value] : request.query) {
    if (name == "_count") {
      int count = 0;
      if (value.empty() || value.size() > 9 ||
          !std::all_of(value.begin(), value.end(),
                       [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }) ||
          !absl::SimpleAtoi(value, &count) || count == 0) {
        return Outcome(400, "invalid", "search parameter '_count': a whole number, 1 or more");
      }
      list.set_page_size(std::min(count, kMaxCount));
      used.emplace_back(name, value);
    } else if (name == "_page_token") {
      list.set_page_token(value);
    } else if (name != "_format" && !Lenient(request)) {
      return Outcome(400, "not-supported",
                     absl::StrCat("parameter '", name, "' is not supported on _history"));
    }
  }
  v1::ListPracticeRevisionsResponse page;
  grpc::Status status = stub_->ListPracticeRevisions(CallContext(request).get(), list, &page);
  if (!status.ok()) return OutcomeFor(status);

  const std::string resource_url =
      absl::StrCat(request.base_url, kFhirPathPrefix, "/Organization/", parsed->key);
  auto page_url = [&](const std::string& token) {
    std::vector<std::string> parts;
    for (const auto& [name, value] : used) {
      parts.push_back(absl::StrCat(name, "=", PercentEncode(value)));
    }
    if (!token.empty()) parts.push_back(absl::StrCat("_page_token=", PercentEncode(token)));
    std::string url = absl::StrCat(resource_url, "/_history");
    if (!parts.empty()) absl::StrAppend(&url, "?", absl::StrJoin(parts, "&"));
    return url;
  };
  Json bundle = Json::Object().Set("resourceType", "Bundle").Set("type", "history");
  Json links = Json::Array().Add(Link("self", page_url(list.page_token())));
  if (!page.next_page_token().empty()) links.Add(Link("next", page_url(page.next_page_token())));
  bundle.Set("link", std::move(links));
  Json entries = Json::Array();
  for (const v1::PracticeRevision& revision : page.revisions()) {
    // The revision's own version and time, whatever the stored state carried.
    v1::Practice state = revision.practice();
    state.set_etag(absl::StrCat("W/\"", revision.revision(), "\""));
    *state.mutable_update_time() = revision.create_time();
    const bool created = revision.kind() == v1::Change::KIND_PRACTICE_CREATED;
    entries.Add(
        Json::Object()
            .Set("fullUrl", resource_url)
            .Set("resource", PracticeOrganization(state))
            .Set("request", Json::Object()
                                .Set("method", created ? "POST" : "PUT")
                                .Set("url", created ? std::string("Organization")
                                                    : absl::StrCat("Organization/", parsed->key)))
            .Set("response",
                 Json::Object()
                     .Set("status", created ? "201 Created" : "200 OK")
                     .Set("etag", absl::StrCat("W/\"", revision.revision(), "\""))
                     .Set("lastModified", FhirInstant(ToTime(revision.create_time())))));
  }
  if (!entries.empty()) bundle.Set("entry", std::move(entries));
  return Ok(bundle);
}

}  // namespace dorset::gateway::fhir
