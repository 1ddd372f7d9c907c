// The gateway's HTTP server (see gateway_server.h).
#include "gateway/gateway_server.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "gateway/fhir/operation_outcome.h"
#include "gateway/grpc_caller.h"
#include "gateway/http_status.h"
#include "gateway/transcoder.h"
#include "google/protobuf/descriptor.h"
#include "runtime/config/config.h"
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

// Why httplib or the front refused a request before any handler saw it, as a google.rpc.Status.
absl::Status RefusalStatus(int http_status, const std::string& why = "") {
  if (http_status == 413) {
    return runtime::InvalidArgument("body", "the body is larger than the gateway accepts");
  }
  if (http_status == 404) {
    return runtime::WithReason(absl::NotFoundError("no API operation matches this path"),
                               "HTTP_ROUTE_NOT_FOUND");
  }
  return absl::InvalidArgumentError(absl::StrCat("the HTTP request was refused (", http_status,
                                                 why.empty() ? "" : ": ", why, ")"));
}

HttpReply ErrorReply(const grpc::Status& status) {
  HttpError error = ToHttpError(status);
  HttpReply reply;
  reply.status = error.http_status;
  if (error.retry_after_seconds) {
    reply.headers.emplace_back("Retry-After", std::to_string(*error.retry_after_seconds));
  }
  reply.content_type = kJson;
  reply.body = std::move(error.json);
  return reply;
}

HttpReply Refusal(int http_status, const std::string& why) {
  HttpReply reply = ErrorReply(runtime::ToGrpcStatus(RefusalStatus(http_status, why)));
  reply.status = http_status;
  return reply;
}

// Runs the httplib-shaped handler for a request of the front (on a pool worker: it may block)
// and sends its response, driving a chunked content provider (NDJSON) chunk by chunk.
void ServeWithHandler(
    const std::function<void(const httplib::Request&, httplib::Response&)>& handle,
    HttpRequest request, HttpExchange& exchange) {
  httplib::Request req;
  req.method = std::move(request.method);
  req.target = request.target;
  req.path = httplib::detail::decode_url(std::string(request.Path()), false);
  httplib::detail::parse_query_text(std::string(request.Query()), req.params);
  for (auto& [name, value] : request.headers)
    req.headers.emplace(std::move(name), std::move(value));
  req.body = std::move(request.body);
  httplib::Response res;
  try {
    handle(req, res);
  } catch (...) {
    res = httplib::Response();
    WriteError(res, runtime::Internal("the gateway failed on this request"));
  }
  HttpReply reply;
  reply.status = res.status == -1 ? 200 : res.status;
  for (auto& [name, value] : res.headers) {
    if (name == "Content-Type") {
      reply.content_type = value;
    } else {
      reply.headers.emplace_back(name, value);
    }
  }
  if (!res.content_provider_) {
    reply.body = std::move(res.body);
    return exchange.Reply(std::move(reply));
  }
  exchange.StartStream(std::move(reply));
  bool done = false;
  bool writable = true;
  httplib::DataSink sink;
  sink.write = [&](const char* data, size_t size) {
    writable = exchange.WriteChunk(std::string_view(data, size));
    return writable;
  };
  sink.done = [&] { done = true; };
  sink.is_writable = [&] { return exchange.Writable(); };
  while (!done && writable) {
    if (!res.content_provider_(0, 0, sink)) break;
  }
  res.content_provider_success_ = done;
  exchange.EndStream();
}

}  // namespace

std::optional<absl::Duration> ParseGrpcTimeout(const std::string& text) {
  if (text.size() < 2 || text.size() > 9) return std::nullopt;
  int64_t value;
  if (!absl::SimpleAtoi(text.substr(0, text.size() - 1), &value) || value < 0) return std::nullopt;
  for (char c : text.substr(0, text.size() - 1)) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  switch (text.back()) {
    case 'H':
      return absl::Hours(value);
    case 'M':
      return absl::Minutes(value);
    case 'S':
      return absl::Seconds(value);
    case 'm':
      return absl::Milliseconds(value);
    case 'u':
      return absl::Microseconds(value);
    case 'n':
      return absl::Nanoseconds(value);
    default:
      return std::nullopt;
  }
}

GatewayServer::GatewayServer(GatewayOptions options, RouteTable routes)
    : options_(std::move(options)), routes_(std::move(routes)) {}

GatewayServer::~GatewayServer() { Stop(); }

void GatewayServer::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
  // The front first (no new requests), then the calls in flight end and answer (into closed
  // connections), then the workers finish what they hold.
  if (front_) front_->Stop();
  if (caller_) caller_->Shutdown();
  if (pool_) {
    pool_->shutdown();
    pool_.reset();
  }
}

bool GatewayServer::TryUnary(HttpRequest& request, const std::shared_ptr<HttpExchange>& exchange) {
  const GatewayOptions& opts = options_;
  const std::string_view path = request.Path();
  if (path == "/livez" || path == "/readyz" || path == "/openapi.json" || path == "/docs" ||
      path.substr(0, 5) == "/fhir") {
    return false;
  }
  absl::StatusOr<RouteMatch> match = routes_.Find(request.method, path);
  if (!match.ok()) return false;  // the handler answers the same refusal
  const Route& route = *match->route;
  if (route.server_streaming() || route.client_streaming()) return false;
  const auto backend = opts.backends.find(route.backend);
  if (backend == opts.backends.end()) return false;

  httplib::Params params;
  if (!request.Query().empty()) {
    httplib::detail::parse_query_text(std::string(request.Query()), params);
  }
  QueryParams query(params.begin(), params.end());
  absl::StatusOr<std::unique_ptr<google::protobuf::Message>> message =
      BuildRequest(*match, query, request.body);
  if (!message.ok()) {
    exchange->Reply(ErrorReply(runtime::ToGrpcStatus(message.status())));
    return true;
  }
  CallMetadata metadata;
  metadata.authorization = std::string(request.Header("Authorization"));
  metadata.request_id = std::string(request.Header("X-Request-Id"));
  if (!IsPrintableId(metadata.request_id)) metadata.request_id = NewRequestId();
  metadata.timeout = opts.default_timeout;
  if (request.HasHeader("grpc-timeout")) {
    metadata.timeout = ParseGrpcTimeout(std::string(request.Header("grpc-timeout")));
    if (!metadata.timeout) {
      HttpReply reply = ErrorReply(runtime::ToGrpcStatus(
          runtime::InvalidArgument("grpc-timeout", "expected digits and a unit (H M S m u n)")));
      reply.headers.emplace_back("X-Request-Id", metadata.request_id);
      exchange->Reply(std::move(reply));
      return true;
    }
    metadata.timeout = std::min(*metadata.timeout, opts.max_timeout);
  }
  const Route* route_ptr = &route;
  std::string request_id = metadata.request_id;
  ResponseJsonMemo* memo = &json_memo_;
  const bool started = caller_->Start(
      backend->second, route.GrpcPath(), (*message)->SerializeAsString(), metadata,
      [route_ptr, exchange, request_id, memo](UnaryResult result) {
        HttpReply reply;
        if (!result.status.ok()) {
          reply = ErrorReply(result.status);
        } else {
          absl::StatusOr<std::string> json = memo->Render(*route_ptr, result.response);
          if (json.ok()) {
            reply.content_type = kJson;
            reply.body = *std::move(json);
          } else {
            reply = ErrorReply(runtime::ToGrpcStatus(json.status()));
          }
        }
        reply.headers.emplace_back("X-Request-Id", request_id);
        exchange->Reply(std::move(reply));
      });
  if (!started) {
    HttpReply reply =
        ErrorReply(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the gateway is stopping"));
    reply.headers.emplace_back("X-Request-Id", request_id);
    exchange->Reply(std::move(reply));
  }
  return true;
}

absl::StatusOr<std::unique_ptr<GatewayServer>> GatewayServer::Start(GatewayOptions options) {
  std::vector<std::string> services;
  for (const auto& [name, channel] : options.backends) services.push_back(name);
  absl::StatusOr<RouteTable> routes = RouteTable::Build(
      *google::protobuf::DescriptorPool::generated_pool(), services, options.per_backend);
  if (!routes.ok()) return routes.status();
  absl::StatusOr<std::pair<std::string, int>> address = runtime::SplitHostPort(options.listen);
  if (!address.ok()) return address.status();

  std::unique_ptr<GatewayServer> self(new GatewayServer(std::move(options), *std::move(routes)));
  GatewayServer* gw = self.get();
  const auto handle = [gw](const httplib::Request& req, httplib::Response& res) {
    const GatewayOptions& opts = gw->options_;
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
      return ServeFhir(*opts.fhir, req, res, gw->tls(), opts);
    }
    absl::StatusOr<RouteMatch> match = gw->routes_.Find(req.method, path);
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
      absl::StatusOr<std::string> json = gw->json_memo_.Render(route, bytes);
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
  gw->handle_ = handle;
  const GatewayOptions& opts = gw->options_;
  if (opts.tls_cert.empty()) {
    gw->caller_ = std::make_unique<AsyncUnaryCaller>(std::max(1, opts.completion_threads));
    gw->pool_ = std::make_unique<httplib::ThreadPool>(std::max(1, opts.threads));
    HttpLimits limits;
    limits.max_body_bytes = opts.max_body_bytes;
    absl::StatusOr<std::unique_ptr<HttpFront>> front = HttpFront::Start(
        address->first, address->second, limits,
        [gw](HttpRequest request, std::shared_ptr<HttpExchange> exchange) {
          if (gw->TryUnary(request, exchange)) return;
          gw->pool_->enqueue([gw, request = std::move(request), exchange]() mutable {
            ServeWithHandler(gw->handle_, std::move(request), *exchange);
          });
        },
        &Refusal);
    if (!front.ok()) return front.status();
    gw->front_ = *std::move(front);
    gw->port_ = gw->front_->port();
    return self;
  }

  auto tls = std::make_unique<httplib::SSLServer>(opts.tls_cert.c_str(), opts.tls_key.c_str());
  if (!tls->is_valid()) {
    return absl::InvalidArgumentError("gateway: cannot load tls_cert/tls_key");
  }
  gw->server_ = std::move(tls);
  httplib::Server& server = *gw->server_;
  const int threads = opts.threads;
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_payload_max_length(opts.max_body_bytes);
  // httplib writes a response's head and body separately: with Nagle on, the body waits for the
  // caller's delayed ACK of the head, 40 ms on Linux, on every keep-alive request
  // (bench/gateway_bench.sh measured 43 ms p50 for a cached GetPractice before this).
  server.set_tcp_nodelay(true);
  // httplib closes a keep-alive connection after 5 requests by default, so a busy caller paid a
  // new TCP connection every 5 calls. A connection holds a worker thread while it is open (up
  // to the 5 s keep-alive timeout when idle), so `threads` bounds the open connections served
  // at once either way.
  server.set_keep_alive_max_count(1000);
  server.set_read_timeout(10, 0);
  server.set_write_timeout(10, 0);
  // A GET (whose body httplib never reads) skips httplib's router, which matches every handler's
  // std::regex against the path: the gateway routes by its own table anyway.
  server.set_pre_routing_handler([handle](const httplib::Request& req, httplib::Response& res) {
    if (req.method != "GET") return httplib::Server::HandlerResponse::Unhandled;
    handle(req, res);
    return httplib::Server::HandlerResponse::Handled;
  });
  server.Get(".*", handle);
  server.Post(".*", handle);
  server.Put(".*", handle);
  server.Patch(".*", handle);
  server.Delete(".*", handle);
  server.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        const int http_status = res.status;
        WriteError(res, RefusalStatus(http_status));
        res.status = http_status;
        return httplib::Server::HandlerResponse::Handled;
      }));
  server.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        WriteError(res, runtime::Internal("the gateway failed on this request"));
      });

  if (address->second == 0) {
    gw->port_ = server.bind_to_any_port(address->first);
  } else {
    gw->port_ = server.bind_to_port(address->first, address->second) ? address->second : -1;
  }
  if (gw->port_ <= 0) {
    return absl::UnavailableError(absl::StrCat("gateway: cannot listen on ", gw->options_.listen));
  }
  gw->thread_ = std::thread([gw] { gw->server_->listen_after_bind(); });
  return self;
}

}  // namespace dorset::gateway
