// The HTTP closed loop of dorset-loadgen (see http_load.h): one thread, one epoll set, a
// non-blocking keep-alive connection per in-flight slot. The gRPC mode runs on gRPC's callback
// API (a few threads for any number of calls); a thread per HTTP connection instead cost this
// side about twice as much CPU per call as the gRPC side's client, on the same two cores as the
// servers it measures (bench/README.md, issue 14).
#include "bench/loadgen/http_load.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace dorset::bench {
namespace {

struct Conn {
  int fd = -1;
  std::string in;  // bytes read and not yet consumed
  absl::Time start;
};

// absl's, over std::string_view (which does not convert to absl::string_view here).
bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return absl::EqualsIgnoreCase(absl::string_view(a.data(), a.size()),
                                absl::string_view(b.data(), b.size()));
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Digits only (base 10 or 16); false when empty, malformed or too long.
bool ParseNumber(std::string_view s, int base, size_t& out) {
  if (s.empty() || s.size() > 15) return false;
  out = 0;
  for (char c : s) {
    const int d = c >= '0' && c <= '9'   ? c - '0'
                  : c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                         : 99;
    if (d >= base) return false;
    out = out * static_cast<size_t>(base) + static_cast<size_t>(d);
  }
  return true;
}

// One complete response at the front of `in`: its status, whether the server closes, and how
// many bytes it took. nullopt while incomplete; status -1 when malformed.
struct Parsed {
  int status = 0;
  bool close = false;
  size_t size = 0;
  std::string body_head;  // the first bytes of the body, for the first error's report
};

std::optional<Parsed> ParseResponse(std::string_view in) {
  const size_t head_end = in.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return std::nullopt;
  Parsed out;
  const std::string_view head = in.substr(0, head_end);
  size_t status = 0;
  if (head.size() < 12 || head.substr(0, 7) != "HTTP/1." ||
      !ParseNumber(head.substr(9, 3), 10, status)) {
    out.status = -1;
    return out;
  }
  out.status = static_cast<int>(status);
  std::optional<size_t> length;
  bool chunked = false;
  size_t line_start = head.find("\r\n");
  while (line_start != std::string_view::npos && line_start < head.size()) {
    line_start += 2;
    size_t line_end = head.find("\r\n", line_start);
    if (line_end == std::string_view::npos) line_end = head.size();
    const std::string_view line = head.substr(line_start, line_end - line_start);
    const size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      const std::string_view name = line.substr(0, colon);
      const std::string_view value = Trim(line.substr(colon + 1));
      if (EqualsIgnoreCase(name, "content-length")) {
        size_t n;
        if (ParseNumber(value, 10, n)) length = n;
      } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
        chunked = EqualsIgnoreCase(value, "chunked");
      } else if (EqualsIgnoreCase(name, "connection")) {
        out.close = EqualsIgnoreCase(value, "close");
      }
    }
    line_start = line_end;
  }
  size_t at = head_end + 4;
  if (chunked) {
    while (true) {
      const size_t eol = in.find("\r\n", at);
      if (eol == std::string_view::npos) return std::nullopt;
      size_t n = 0;
      const std::string_view hex = in.substr(at, eol - at);
      const std::string_view digits = hex.substr(0, hex.find(';'));
      if (!ParseNumber(digits, 16, n)) {
        out.status = -1;
        return out;
      }
      if (out.body_head.size() < 300) {
        out.body_head.append(in.substr(eol + 2, std::min<size_t>(n, in.size() - eol - 2)));
      }
      at = eol + 2 + n + 2;
      if (at > in.size()) return std::nullopt;
      if (n == 0) break;  // no trailers expected
    }
    out.size = at;
    return out;
  }
  if (!length) {  // no length: the body runs to the close, which a closed loop cannot use
    out.status = -1;
    return out;
  }
  if (in.size() < at + *length) return std::nullopt;
  out.body_head = std::string(in.substr(at, std::min<size_t>(*length, 300)));
  out.size = at + *length;
  return out;
}

int Connect(const sockaddr_storage& address, socklen_t length) {
  const int fd = socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address), length) != 0) {
    close(fd);
    return -1;
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // as curl and browsers do
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

}  // namespace

int RunHttpLoad(const HttpLoadOptions& o) {
  const size_t colon = o.target.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(o.target.substr(colon + 1), &port)) {
    std::fprintf(stderr, "--target must be host:port\n");
    return 2;
  }
  const std::string host = o.target.substr(0, colon);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), o.target.substr(colon + 1).c_str(), &hints, &found) != 0 ||
      found == nullptr) {
    std::fprintf(stderr, "cannot resolve %s\n", host.c_str());
    return 2;
  }
  sockaddr_storage address{};
  const socklen_t address_length = found->ai_addrlen;
  std::memcpy(&address, found->ai_addr, found->ai_addrlen);
  freeaddrinfo(found);

  std::string request = absl::StrCat("GET ", o.path, " HTTP/1.1\r\nHost: ", o.target, "\r\n");
  if (!o.token.empty()) absl::StrAppend(&request, "Authorization: Bearer ", o.token, "\r\n");
  if (!o.accept.empty()) absl::StrAppend(&request, "Accept: ", o.accept, "\r\n");
  absl::StrAppend(&request, "\r\n");

  const absl::Time started = absl::Now();
  const absl::Time measure_from = started + absl::Seconds(o.warmup_s);
  const absl::Time stop_at = measure_from + absl::Seconds(o.duration_s);
  std::vector<int64_t> latencies;
  uint64_t ok = 0, failed = 0;
  std::map<std::string, uint64_t> errors;
  std::string first_error;
  const auto fail = [&](const std::string& code, std::string_view body) {
    ++failed;
    errors[code]++;
    if (first_error.empty()) first_error = std::string(body.substr(0, 300));
  };

  const int epoll = epoll_create1(EPOLL_CLOEXEC);
  std::vector<Conn> conns(o.concurrency);
  int open = 0;
  // Sends the request on a connection (reconnecting first when it has none); false when the
  // slot is done (the window ended, or it cannot connect).
  const auto send_next = [&](size_t slot) {
    Conn& c = conns[slot];
    while (true) {
      c.start = absl::Now();
      if (c.start >= stop_at) return false;
      if (c.fd < 0) {
        c.fd = Connect(address, address_length);
        c.in.clear();
        if (c.fd < 0) {
          fail("connect", "cannot connect");
          return false;
        }
        epoll_event event{};
        event.events = EPOLLIN;
        event.data.u64 = slot;
        epoll_ctl(epoll, EPOLL_CTL_ADD, c.fd, &event);
      }
      // A request this small goes out whole on a connection that has nothing else in flight.
      if (send(c.fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size())) {
        return true;
      }
      if (c.start >= measure_from) fail("send", "send failed");
      close(c.fd);
      c.fd = -1;
    }
  };
  const auto finish = [&](size_t slot) {
    Conn& c = conns[slot];
    if (c.fd >= 0) close(c.fd);
    c.fd = -1;
    --open;
  };
  for (size_t slot = 0; slot < conns.size(); ++slot) {
    if (send_next(slot)) ++open;
  }
  std::vector<epoll_event> events(256);
  char buffer[65536];
  while (open > 0) {
    const int n = epoll_wait(epoll, events.data(), static_cast<int>(events.size()), 1000);
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      const size_t slot = events[i].data.u64;
      Conn& c = conns[slot];
      if (c.fd < 0) continue;
      const ssize_t got = recv(c.fd, buffer, sizeof buffer, 0);
      if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (got <= 0) {  // the server closed (or reset) with the call in flight
        if (c.start >= measure_from && c.start < stop_at) fail("closed", "connection closed");
        close(c.fd);
        c.fd = -1;
        if (!send_next(slot)) finish(slot);
        continue;
      }
      c.in.append(buffer, static_cast<size_t>(got));
      const std::optional<Parsed> response = ParseResponse(c.in);
      if (!response) continue;
      const absl::Time end = absl::Now();
      if (c.start >= measure_from && end <= stop_at) {
        if (response->status / 100 == 2) {
          latencies.push_back(absl::ToInt64Nanoseconds(end - c.start));
          ++ok;
        } else {
          fail(response->status < 0 ? "malformed" : absl::StrCat(response->status),
               response->body_head);
        }
      }
      if (response->status < 0 || response->close) {
        close(c.fd);
        c.fd = -1;
      } else {
        c.in.erase(0, response->size);
      }
      if (!send_next(slot)) finish(slot);
    }
  }
  for (Conn& c : conns) {
    if (c.fd >= 0) close(c.fd);
  }
  close(epoll);

  std::sort(latencies.begin(), latencies.end());
  const auto pct = [&](double p) -> double {
    if (latencies.empty()) return 0;
    return static_cast<double>(latencies[static_cast<size_t>(
               p * static_cast<double>(latencies.size() - 1) + 0.5)]) /
           1e6;
  };
  const double qps = static_cast<double>(ok) / o.duration_s;
  std::string codes;
  for (const auto& [code, n] : errors) {
    absl::StrAppend(&codes, codes.empty() ? "" : ",", "\"", code, "\":", n);
  }
  if (o.json) {
    std::printf(
        "{\"method\":\"GET %s\",\"target\":\"%s\",\"concurrency\":%d,\"channels\":%d,"
        "\"duration_s\":%.3f,\"calls\":%llu,\"errors\":%llu,\"qps\":%.1f,\"p50_ms\":%.3f,"
        "\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"error_codes\":{%s}}\n",
        o.path.c_str(), o.target.c_str(), o.concurrency, o.concurrency, o.duration_s,
        static_cast<unsigned long long>(ok), static_cast<unsigned long long>(failed), qps, pct(0.5),
        pct(0.9), pct(0.99), pct(0.999), codes.c_str());
  } else {
    std::printf("GET %s  concurrency=%d duration=%.1fs\n", o.path.c_str(), o.concurrency,
                o.duration_s);
    std::printf("  calls ok=%llu errors=%llu  qps=%.1f\n", static_cast<unsigned long long>(ok),
                static_cast<unsigned long long>(failed), qps);
    std::printf("  latency ms p50=%.3f p90=%.3f p99=%.3f p99.9=%.3f\n", pct(0.5), pct(0.9),
                pct(0.99), pct(0.999));
    if (!codes.empty())
      std::printf("  errors by status: {%s}\n  first error: %s\n", codes.c_str(),
                  first_error.c_str());
  }
  return ok > 0 ? 0 : 1;
}

}  // namespace dorset::bench
