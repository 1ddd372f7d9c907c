// The gateway front's HTTP/1.1 request parser (see http_request_parser.h).
#include "gateway/http_request_parser.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace dorset::gateway {
namespace {

constexpr size_t kMaxHeaders = 100;

// tchar (RFC 9110 section 5.6.2): the characters of a method and of a header name.
bool IsTokenChar(unsigned char c) {
  if (absl::ascii_isalnum(c)) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

// field-value characters: visible, space, tab and obs-text; no other control characters.
bool IsFieldValue(std::string_view s) {
  for (unsigned char c : s) {
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

// The target: origin-form (RFC 9112 section 3.2.1), visible ASCII only.
bool IsOriginTarget(std::string_view s) {
  if (s.empty() || s[0] != '/') return false;
  for (unsigned char c : s) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

HttpParse Error(int status, std::string why) {
  HttpParse parse;
  parse.state = HttpParse::kError;
  parse.http_status = status;
  parse.error = std::move(why);
  return parse;
}

// Debian's Abseil has a string_view of its own, not std's: these few are written here.
// absl's, over std::string_view (which does not convert to absl::string_view here).
bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return absl::EqualsIgnoreCase(absl::string_view(a.data(), a.size()),
                                absl::string_view(b.data(), b.size()));
}

std::string_view StripWhitespace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Whether a comma-separated header value lists `token` (case-insensitively).
bool ListsToken(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const size_t comma = value.find(',');
    if (EqualsIgnoreCase(StripWhitespace(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

std::string_view HttpRequest::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) return value;
  }
  return {};
}

bool HttpRequest::HasHeader(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) return true;
  }
  return false;
}

std::string_view HttpRequest::Path() const {
  const std::string_view t = target;
  return t.substr(0, t.find('?'));
}

std::string_view HttpRequest::Query() const {
  const size_t q = target.find('?');
  return q == std::string::npos ? std::string_view() : std::string_view(target).substr(q + 1);
}

HttpParse ParseHttpRequest(std::string_view in, const HttpLimits& limits, HttpRequest& out) {
  out = HttpRequest();
  // A server should ignore at least one empty line before the request line (RFC 9112 2.2).
  size_t start = 0;
  while (in.size() - start >= 2 && in[start] == '\r' && in[start + 1] == '\n' && start < 8) {
    start += 2;
  }
  const size_t head_end = in.find("\r\n\r\n", start);
  if (head_end == std::string_view::npos) {
    if (in.size() - start > limits.max_head_bytes)
      return Error(431, "the request head is too large");
    return HttpParse();
  }
  if (head_end + 4 - start > limits.max_head_bytes) {
    return Error(431, "the request head is too large");
  }
  const std::string_view head = in.substr(start, head_end + 2 - start);  // lines end "\r\n"

  // Request line: method SP request-target SP HTTP-version.
  size_t eol = head.find("\r\n");
  const std::string_view line = head.substr(0, eol);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return Error(400, "malformed request line");
  }
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!IsToken(method)) return Error(400, "malformed method");
  if (!IsOriginTarget(target)) return Error(400, "the request target must be a path");
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      !absl::ascii_isdigit(static_cast<unsigned char>(version[5])) ||
      !absl::ascii_isdigit(static_cast<unsigned char>(version[7]))) {
    return Error(400, "malformed HTTP version");
  }
  if (version[5] != '1') return Error(505, "only HTTP/1.x is served");
  out.method = std::string(method);
  out.target = std::string(target);
  out.minor_version = version[7] - '0';

  // Header fields.
  size_t at = eol + 2;
  while (at < head.size()) {
    eol = head.find("\r\n", at);
    const std::string_view field = head.substr(at, eol - at);
    at = eol + 2;
    if (field.empty()) break;
    if (field[0] == ' ' || field[0] == '\t') return Error(400, "obsolete line folding");
    const size_t colon = field.find(':');
    if (colon == std::string_view::npos) return Error(400, "malformed header field");
    const std::string_view name = field.substr(0, colon);
    const std::string_view value = StripWhitespace(field.substr(colon + 1));
    if (!IsToken(name)) return Error(400, "malformed header name");
    if (!IsFieldValue(value)) return Error(400, "control characters in a header value");
    if (out.headers.size() == kMaxHeaders) return Error(431, "too many header fields");
    out.headers.emplace_back(std::string(name), std::string(value));
  }

  // Framing (RFC 9112 section 6): Transfer-Encoding chunked, or Content-Length, never both.
  bool chunked = false;
  bool has_length = false;
  uint64_t length = 0;
  for (const auto& [name, value] : out.headers) {
    if (EqualsIgnoreCase(name, "transfer-encoding")) {
      if (out.minor_version == 0) return Error(400, "Transfer-Encoding in an HTTP/1.0 request");
      if (chunked || !EqualsIgnoreCase(value, "chunked")) {
        return Error(501, "only the chunked transfer coding is supported");
      }
      chunked = true;
    } else if (EqualsIgnoreCase(name, "content-length")) {
      uint64_t n = 0;
      if (value.empty() || value.size() > 18) return Error(400, "malformed Content-Length");
      for (char c : value) {
        if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
          return Error(400, "malformed Content-Length");
        }
        n = n * 10 + static_cast<uint64_t>(c - '0');
      }
      if (has_length && n != length) return Error(400, "conflicting Content-Length fields");
      has_length = true;
      length = n;
    } else if (EqualsIgnoreCase(name, "connection")) {
      if (ListsToken(value, "close")) out.keep_alive = false;
      if (ListsToken(value, "keep-alive") && out.minor_version == 0) out.keep_alive = true;
    }
  }
  if (out.minor_version == 0 && !ListsToken(out.Header("connection"), "keep-alive")) {
    out.keep_alive = false;
  }
  if (chunked && has_length) return Error(400, "both Transfer-Encoding and Content-Length");
  const bool expect_continue = ListsToken(out.Header("expect"), "100-continue");

  const size_t body_start = head_end + 4;
  HttpParse parse;
  if (!chunked) {
    if (length > limits.max_body_bytes) return Error(413, "the body is too large");
    if (in.size() - body_start < length) {
      out.expect_continue = expect_continue;
      return parse;
    }
    out.body = std::string(in.substr(body_start, length));
    parse.state = HttpParse::kComplete;
    parse.consumed = body_start + length;
    return parse;
  }
  // chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF; last-chunk; trailer section; CRLF.
  at = body_start;
  while (true) {
    const size_t size_end = in.find("\r\n", at);
    if (size_end == std::string_view::npos) {
      if (in.size() - at > 1024) return Error(400, "malformed chunk size");
      out.expect_continue = expect_continue;
      return parse;
    }
    const std::string_view size_line = in.substr(at, size_end - at);
    const std::string_view hex = size_line.substr(0, size_line.find_first_of(";\t "));
    if (hex.empty() || hex.size() > 15) return Error(400, "malformed chunk size");
    uint64_t n = 0;
    for (char c : hex) {
      const unsigned char u = static_cast<unsigned char>(c);
      if (!absl::ascii_isxdigit(u)) return Error(400, "malformed chunk size");
      n = n * 16 + static_cast<uint64_t>(
                       absl::ascii_isdigit(u) ? u - '0' : absl::ascii_tolower(u) - 'a' + 10);
    }
    if (!IsFieldValue(size_line)) return Error(400, "malformed chunk extension");
    at = size_end + 2;
    if (n == 0) break;
    if (out.body.size() + n > limits.max_body_bytes) return Error(413, "the body is too large");
    if (in.size() - at < n + 2) {
      out.expect_continue = expect_continue;
      out.body.clear();
      return parse;
    }
    if (in.substr(at + n, 2) != "\r\n") return Error(400, "a chunk does not end with CRLF");
    out.body.append(in.substr(at, n));
    at += n + 2;
  }
  // Trailer fields (read and dropped), then the empty line.
  while (true) {
    const size_t trailer_end = in.find("\r\n", at);
    if (trailer_end == std::string_view::npos) {
      if (in.size() - at > limits.max_head_bytes) return Error(431, "the trailers are too large");
      out.body.clear();
      return parse;
    }
    const std::string_view trailer = in.substr(at, trailer_end - at);
    at = trailer_end + 2;
    if (trailer.empty()) break;
    if (trailer.find(':') == std::string_view::npos || !IsFieldValue(trailer)) {
      return Error(400, "malformed trailer field");
    }
  }
  parse.state = HttpParse::kComplete;
  parse.consumed = at;
  return parse;
}

}  // namespace dorset::gateway
