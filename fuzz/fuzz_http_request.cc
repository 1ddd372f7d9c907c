// Fuzzes the gateway front's HTTP/1.1 request parser (gateway/http_request_parser.h) with small
// limits: it never reads past its input, a complete request consumes no more than it was given
// and at least its head, the body stays within the limit, and feeding the same bytes one at a
// time never completes a request earlier or differently than feeding them whole.
#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/http_request_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  dorset::gateway::HttpLimits limits;
  limits.max_head_bytes = 512;
  limits.max_body_bytes = 256;
  dorset::gateway::HttpRequest whole;
  const dorset::gateway::HttpParse parse = dorset::gateway::ParseHttpRequest(input, limits, whole);
  if (parse.state == dorset::gateway::HttpParse::kComplete) {
    if (parse.consumed > input.size() || parse.consumed < 16) __builtin_trap();
    if (whole.body.size() > limits.max_body_bytes) __builtin_trap();
    if (whole.target.empty() || whole.target[0] != '/' || whole.method.empty()) __builtin_trap();
    if (whole.Path().size() > whole.target.size()) __builtin_trap();
    // A prefix of a complete request is incomplete or already refused, never complete.
    for (size_t n = 0; n < parse.consumed; n += 1 + n / 8) {
      dorset::gateway::HttpRequest part;
      if (dorset::gateway::ParseHttpRequest(input.substr(0, n), limits, part).state ==
          dorset::gateway::HttpParse::kComplete) {
        __builtin_trap();
      }
    }
    // The request parses the same on its own, without what follows it.
    dorset::gateway::HttpRequest alone;
    const dorset::gateway::HttpParse again =
        dorset::gateway::ParseHttpRequest(input.substr(0, parse.consumed), limits, alone);
    if (again.state != parse.state || again.consumed != parse.consumed ||
        alone.body != whole.body || alone.target != whole.target ||
        alone.keep_alive != whole.keep_alive) {
      __builtin_trap();
    }
  } else if (parse.state == dorset::gateway::HttpParse::kError) {
    if (parse.http_status < 400 || parse.http_status > 505 || parse.error.empty()) __builtin_trap();
  }
  return 0;
}
