// An HTTP/1.1 request parser for the gateway's event-driven front (gateway/http_front.h): one
// request at the front of a buffer of bytes read so far, with its head limited in size, its
// body by Content-Length or chunked (RFC 9112), and the connection's keep-alive decided as
// RFC 9112 section 9.3 says. Pure and stateless: called again on the whole buffer when more
// bytes arrive. Fuzzed by fuzz/fuzz_http_request.cc.
#ifndef DORSET_GATEWAY_HTTP_REQUEST_PARSER_H_
#define DORSET_GATEWAY_HTTP_REQUEST_PARSER_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dorset::gateway {

struct HttpRequest {
  std::string method;  // "GET", as sent (case-sensitive, RFC 9110 section 9.1)
  std::string target;  // the request target as sent: "/v1/practices/J81002?x=1"
  int minor_version = 1;
  std::vector<std::pair<std::string, std::string>> headers;  // names as sent, values trimmed
  std::string body;                                          // de-chunked
  bool keep_alive = true;
  bool expect_continue = false;  // "Expect: 100-continue" and the body not yet complete

  // The first value of a header (names compared case-insensitively); empty when absent.
  std::string_view Header(std::string_view name) const;
  bool HasHeader(std::string_view name) const;
  std::string_view Path() const;   // target before '?'
  std::string_view Query() const;  // target after '?' (empty without one)
};

struct HttpParse {
  enum State {
    kIncomplete,  // more bytes needed (expect_continue may already be set on the request)
    kComplete,    // a request of `consumed` bytes
    kError,       // refuse with `http_status` (400, 413, 431, 501, 505) and close
  };
  State state = kIncomplete;
  size_t consumed = 0;
  int http_status = 0;
  std::string error;  // why, for the error body
};

struct HttpLimits {
  size_t max_head_bytes = 64 * 1024;  // request line and headers
  size_t max_body_bytes = 1 << 20;
};

// Parses the request at the start of `in` into `out` (cleared first).
HttpParse ParseHttpRequest(std::string_view in, const HttpLimits& limits, HttpRequest& out);

}  // namespace dorset::gateway

#endif  // DORSET_GATEWAY_HTTP_REQUEST_PARSER_H_
