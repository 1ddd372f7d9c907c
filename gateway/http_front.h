// The gateway's event-driven HTTP/1.1 front (plaintext): one epoll loop thread accepts and reads
// every connection, parses requests (gateway/http_request_parser.h; keep-alive, pipelined
// requests answered in order, Expect: 100-continue, chunked bodies) and hands each to the
// handler on the loop thread. The handler answers through the request's HttpExchange from any
// thread, now or later (from a gRPC completion, or a worker of its own for blocking work), so no
// thread waits on a connection and none is woken per request just to hand it on: cpp-httplib's
// thread per connection spent about half the gateway's CPU switching threads (bench/README.md,
// issue 14). A connection serves one request at a time; bytes that arrive meanwhile wait in its
// buffer. Refused input is answered by the `refusal` callback and the connection closed.
#ifndef DORSET_GATEWAY_HTTP_FRONT_H_
#define DORSET_GATEWAY_HTTP_FRONT_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "gateway/http_request_parser.h"

namespace dorset::gateway {

struct HttpReply {
  int status = 200;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

class HttpConnection;

// One request's answer: exactly one Reply, or StartStream, any number of WriteChunk and then
// EndStream. Thread-safe; outlives its connection (writes to a closed one are dropped).
class HttpExchange {
 public:
  HttpExchange(std::shared_ptr<HttpConnection> connection, bool keep_alive, bool head)
      : connection_(std::move(connection)), keep_alive_(keep_alive), head_(head) {}
  void Reply(HttpReply reply);
  void StartStream(HttpReply head);  // chunked; head.body is ignored
  // Blocks while the connection has much unsent; false once the connection is gone.
  bool WriteChunk(std::string_view data);
  void EndStream();
  bool Writable() const;

 private:
  std::shared_ptr<HttpConnection> connection_;
  bool keep_alive_;
  bool head_;
};

using HttpHandler = std::function<void(HttpRequest, std::shared_ptr<HttpExchange>)>;
// Answer to a request the parser refused: the HTTP status and why.
using HttpRefusal = std::function<HttpReply(int http_status, const std::string& why)>;

class HttpFront {
 public:
  // Binds host:port (0: any free) and starts the loop thread.
  static absl::StatusOr<std::unique_ptr<HttpFront>> Start(const std::string& host, int port,
                                                          HttpLimits limits, HttpHandler handler,
                                                          HttpRefusal refusal);
  ~HttpFront();  // Stop()
  int port() const { return port_; }
  // Stops accepting and reading, closes every connection and joins the loop thread; answers
  // still in flight are dropped when they come.
  void Stop();

  struct Loop;

 private:
  HttpFront() = default;
  std::shared_ptr<Loop> loop_;
  std::thread thread_;
  int port_ = 0;
};

// The status line's reason phrase ("OK", "Not Found").
const char* HttpReason(int status);

}  // namespace dorset::gateway

#endif  // DORSET_GATEWAY_HTTP_FRONT_H_
