// The gateway's HTTP server (see gateway_server.h).
#include "gateway/gateway_server.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gateway/grpc_caller.h"
#include "gateway/http_status.h"
#include "gateway/httplib_handler.h"
#include "gateway/transcoder.h"
#include "google/protobuf/descriptor.h"
#include "runtime/config/config.h"
#include "runtime/status/errors.h"
#include "runtime/status/grpc_status.h"

namespace dorset::gateway {
namespace {

constexpr char kJson[] = "application/json";

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
void ServeWithHandler(const HttplibHandler& handle, HttpRequest request, HttpExchange& exchange) {
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
  gw->handle_ = MakeHttplibHandler(gw->options_, gw->routes_, gw->json_memo_, gw->tls());
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
  const HttplibHandler& handle = gw->handle_;
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
