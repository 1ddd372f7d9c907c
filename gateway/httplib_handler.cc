// The gateway's httplib-shaped handler (see httplib_handler.h).
#include "gateway/httplib_handler.h"

#include <httplib.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "gateway/fhir/operation_outcome.h"
#include "gateway/gateway_server.h"
#include "gateway/grpc_caller.h"
#include "gateway/http_status.h"
#include "gateway/transcoder.h"
#include "google/protobuf/descriptor.h"
#include "runtime/status/errors.h"
#include "runtime/status/grpc_status.h"

namespace dorset::gateway {
namespace {

constexpr char kJson[] = "application/json";
constexpr char kNdjson[] = "application/x-ndjson";

// /docs: a readable page of /openapi.json, rendered in the browser with no outside scripts.
constexpr char kDocsPage[] = R"html(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Dorset Digital API</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em}
code,pre{background:#f3f3f3;padding:0 .2em}.op{border-top:1px solid #ccc;padding:.5em 0}
.m{font-weight:bold;text-transform:uppercase;display:inline-block;width:5em}</style></head>
<body><h1>Dorset Digital API</h1><p>Generated from the gRPC contracts:
<a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p><main id="api">Loading...</main>
<script>
const esc = s => String(s ?? "").replace(/[&<>"]/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;","\"":"&quot;"}[c]));
fetch("/openapi.json").then(r => r.json()).then(doc => {
  let html = "<p>" + esc(doc.info.description) + "</p>";
  for (const [path, item] of Object.entries(doc.paths).sort()) {
    for (const [method, op] of Object.entries(item)) {
      html += `<div class="op"><span class="m">${esc(method)}</span><code>${esc(path)}</code>` +
        `<p><b>${esc(op.summary)}</b></p><pre>${esc(op.description)}</pre>`;
      const params = (op.parameters || []).map(p => `<li><code>${esc(p.name)}</code> (${esc(p.in)}) ${esc(p.description)}</li>`);
      if (params.length) html += "<ul>" + params.join("") + "</ul>";
      if (op.requestBody) html += "<p>Body: JSON, see the schema in /openapi.json.</p>";
      html += "</div>";
    }
  }
  document.getElementById("api").innerHTML = html;
});
</script></body></html>)html";

// The body moved in rather than copied (httplib 0.11's set_content takes a const reference).
void SetBody(httplib::Response& res, std::string body, const char* content_type) {
  res.body = std::move(body);
  res.headers.erase("Content-Type");
  res.set_header("Content-Type", content_type);
}

void WriteError(httplib::Response& res, const grpc::Status& status) {
  HttpError error = ToHttpError(status);
  res.status = error.http_status;
  if (error.retry_after_seconds) {
    res.set_header("Retry-After", std::to_string(*error.retry_after_seconds));
  }
  SetBody(res, std::move(error.json), kJson);
}

}  // namespace

void WriteError(httplib::Response& res, const absl::Status& status) {
  WriteError(res, runtime::ToGrpcStatus(status));
}

bool IsPrintableId(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (c <= ' ' || c > '~') return false;
  }
  return true;
}

std::string NewRequestId() {
  static absl::Mutex mu(absl::kConstInit);
  static absl::BitGen* gen = new absl::BitGen;
  absl::MutexLock lock(&mu);
  return absl::StrFormat("gw-%016x%016x", absl::Uniform<uint64_t>(*gen),
                         absl::Uniform<uint64_t>(*gen));
}

namespace {

// The request path as sent (still percent-encoded): the matcher decodes per variable.
std::string RawPath(const httplib::Request& req) {
  const std::string& target = req.target.empty() ? req.path : req.target;
  return target.substr(0, target.find('?'));
}

// /fhir/...: the registry's FHIR face with the same pass-through as the REST side.
void ServeFhir(fhir::FhirService& service, const httplib::Request& req, httplib::Response& res,
               bool tls, const GatewayOptions& opts) {
  fhir::FhirRequest request;
  request.method = req.method;
  request.path = RawPath(req);
  request.query.assign(req.params.begin(), req.params.end());
  request.authorization = req.get_header_value("Authorization");
  request.request_id = req.get_header_value("X-Request-Id");
  if (!IsPrintableId(request.request_id)) request.request_id = NewRequestId();
  request.prefer = req.get_header_value("Prefer");
  request.base_url = fhir::BaseUrl(tls, req.get_header_value("Host"));
  fhir::FhirResponse response;
  request.timeout = opts.default_timeout;
  if (req.has_header("grpc-timeout")) {
    request.timeout = ParseGrpcTimeout(req.get_header_value("grpc-timeout"));
  }
  if (!request.timeout) {
    response =
        fhir::Outcome(400, "invalid", "grpc-timeout: expected digits and a unit (H M S m u n)");
  } else {
    request.timeout = std::min(*request.timeout, opts.max_timeout);
    response = service.Handle(request);
  }
  res.status = response.status;
  res.set_header("X-Request-Id", request.request_id);
  for (const auto& [name, value] : response.headers) res.set_header(name, value);
  SetBody(res, std::move(response.body), fhir::kFhirJson);
}

}  // namespace

HttplibHandler MakeHttplibHandler(const GatewayOptions& opts, const RouteTable& routes,
                                  ResponseJsonMemo& json_memo, bool tls) {
  return [&opts, &routes, &json_memo, tls](const httplib::Request& req, httplib::Response& res) {
    const std::string path = RawPath(req);
    // Liveness and readiness for probes: the gateway holds nothing, so up is ready (a service
    // that is down answers 503 per call, which must not take every replica out of rotation).
    if (req.method == "GET" && (path == "/livez" || path == "/readyz")) {
      res.set_content("ok\n", "text/plain");
      return;
    }
    if (req.method == "GET" && path == "/openapi.json" && !opts.openapi_json.empty()) {
      res.set_content(opts.openapi_json, kJson);
      return;
    }
    if (req.method == "GET" && path == "/docs" && !opts.openapi_json.empty()) {
      res.set_content(kDocsPage, "text/html; charset=utf-8");
      return;
    }
    if (opts.fhir && (path == "/fhir" || absl::StartsWith(path, "/fhir/"))) {
      return ServeFhir(*opts.fhir, req, res, tls, opts);
    }
    absl::StatusOr<RouteMatch> match = routes.Find(req.method, path);
    if (!match.ok()) return WriteError(res, match.status());
    QueryParams query(req.params.begin(), req.params.end());
    std::vector<std::string> requests;
    if (match->route->client_streaming()) {
      absl::StatusOr<std::vector<std::string>> lines = BuildStreamRequests(*match, query, req.body);
      if (!lines.ok()) return WriteError(res, lines.status());
      requests = *std::move(lines);
    } else {
      absl::StatusOr<std::unique_ptr<google::protobuf::Message>> request =
          BuildRequest(*match, query, req.body);
      if (!request.ok()) return WriteError(res, request.status());
      requests.push_back((*request)->SerializeAsString());
    }

    const Route& route = *match->route;
    CallMetadata metadata;
    metadata.authorization = req.get_header_value("Authorization");
    metadata.request_id = req.get_header_value("X-Request-Id");
    if (!IsPrintableId(metadata.request_id)) metadata.request_id = NewRequestId();
    res.set_header("X-Request-Id", metadata.request_id);
    if (req.has_header("grpc-timeout")) {
      metadata.timeout = ParseGrpcTimeout(req.get_header_value("grpc-timeout"));
      if (!metadata.timeout) {
        return WriteError(res, runtime::InvalidArgument(
                                   "grpc-timeout", "expected digits and a unit (H M S m u n)"));
      }
      metadata.timeout = std::min(*metadata.timeout, opts.max_timeout);
    } else if (!route.server_streaming() && !route.client_streaming()) {
      metadata.timeout = opts.default_timeout;
    }
    const auto backend = opts.backends.find(route.backend);
    const auto reply = [&](const std::string& bytes) {
      absl::StatusOr<std::string> json = json_memo.Render(route, bytes);
      if (!json.ok()) return WriteError(res, json.status());
      SetBody(res, *std::move(json), kJson);
    };

    if (!route.server_streaming() && !route.client_streaming()) {
      UnaryResult result = CallUnary(backend->second, route.GrpcPath(), requests.front(), metadata);
      if (!result.status.ok()) return WriteError(res, result.status);
      return reply(result.response);
    }
    if (!route.server_streaming()) {
      // A client stream: the requests go out, then the one response (or the error) comes back.
      ServerStream call(backend->second, route.GrpcPath(), requests, metadata);
      std::optional<std::string> response = call.Next();
      while (call.Next()) {
      }
      if (!call.status().ok()) return WriteError(res, call.status());
      if (!response) return WriteError(res, runtime::Internal("the service sent no response"));
      return reply(*response);
    }

    auto stream =
        std::make_shared<ServerStream>(backend->second, route.GrpcPath(), requests, metadata);
    // The first message decides the HTTP status: a stream refused at once is a plain error.
    auto first = std::make_shared<std::optional<std::string>>(stream->Next());
    if (!first->has_value() && !stream->status().ok()) return WriteError(res, stream->status());
    const google::protobuf::Message* prototype =
        google::protobuf::MessageFactory::generated_factory()->GetPrototype(
            route.method->output_type());
    res.set_chunked_content_provider(
        kNdjson,
        [stream, first, prototype, &route](size_t, httplib::DataSink& sink) {
          std::optional<std::string> next;
          if (first->has_value()) {
            next = std::move(*first);
            first->reset();
          } else {
            next = stream->Next();
          }
          if (!next) {
            if (!stream->status().ok()) {
              const std::string line =
                  absl::StrCat("{\"error\":", ToHttpError(stream->status()).json, "}\n");
              sink.write(line.data(), line.size());
            }
            sink.done();
            return true;
          }
          std::unique_ptr<google::protobuf::Message> message(prototype->New());
          absl::StatusOr<std::string> json = message->ParseFromString(*next)
                                                 ? ResponseToJson(route, *message)
                                                 : absl::InternalError("unparsable stream message");
          const std::string line = absl::StrCat(json.ok() ? *json : "{}", "\n");
          return sink.write(line.data(), line.size());
        },
        [stream](bool) { stream->Cancel(); });
  };
}

}  // namespace dorset::gateway
