#include "runtime/server/ops_http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"
#include "runtime/base/thread_name.h"
#include "runtime/config/config.h"
#include "runtime/logging/log.h"
#include "runtime/server/build_version.h"
#include "runtime/status/status_macros.h"

namespace dorset::runtime {
namespace {

bool SetNonBlocking(int fd) {
  const int flags = fcntl(fd, F_GETFL, 0);
  return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

std::string Response(int status, const std::string& reason, const std::string& content_type,
                     const std::string& body, bool head_only) {
  std::string out =
      absl::StrCat("HTTP/1.1 ", status, " ", reason, "\r\nContent-Type: ", content_type,
                   "\r\nContent-Length: ", body.size(),
                   "\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n");
  if (!head_only) out.append(body);
  return out;
}

}  // namespace

struct OpsHttpServer::Connection {
  int fd = -1;
  absl::Time accepted;
  absl::Time deadline;  // reading the request, then writing the answer, must end by then
  std::string in;
  std::string out;
  size_t written = 0;
  bool answering = false;  // the request was read; `out` is being written
};

absl::StatusOr<std::unique_ptr<OpsHttpServer>> OpsHttpServer::Start(
    const std::string& listen, std::shared_ptr<prometheus::Registry> registry,
    ReadinessFn readiness, OpsHttpLimits limits) {
  ASSIGN_OR_RETURN(auto host_port, SplitHostPort(listen));
  const auto& [host, port] = host_port;
  std::unique_ptr<OpsHttpServer> ops(new OpsHttpServer());  // private constructor
  ops->registry_ = std::move(registry);
  ops->readiness_ = std::move(readiness);
  ops->limits_ = limits;

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port_text = absl::StrCat(port);
  if (getaddrinfo(host.empty() ? nullptr : host.c_str(), port_text.c_str(), &hints, &found) != 0 ||
      found == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("ops_listen: cannot resolve ", listen));
  }
  int fd = -1;
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, 128) != 0 || !SetNonBlocking(fd)) {
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("ops_listen: cannot bind ", listen));
  ops->listen_fd_ = fd;
  sockaddr_storage bound{};
  socklen_t length = sizeof(bound);
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
  ops->port_ = bound.ss_family == AF_INET6
                   ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                   : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  if (pipe2(ops->wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
    return absl::InternalError("ops_listen: cannot make a pipe");
  }
  ops->thread_ = std::thread([server = ops.get()] {
    NameThisThread("ops-http");
    server->Loop();
  });
  return ops;
}

void OpsHttpServer::Loop() {
  std::vector<Connection> connections;
  std::vector<pollfd> polled;
  while (!stopping_.load()) {
    // Close what ran out of time: a client that drips bytes, or never reads its answer, holds
    // its slot for one deadline at most.
    const absl::Time now = absl::Now();
    for (Connection& c : connections) {
      if (now >= c.deadline) {
        close(c.fd);
        c.fd = -1;
      }
    }
    std::erase_if(connections, [](const Connection& c) { return c.fd < 0; });

    polled.clear();
    polled.push_back({wake_[0], POLLIN, 0});
    polled.push_back({listen_fd_, POLLIN, 0});
    absl::Time next_deadline = now + absl::Seconds(1);
    for (const Connection& c : connections) {
      polled.push_back({c.fd, static_cast<short>(c.answering ? POLLOUT : POLLIN), 0});
      next_deadline = std::min(next_deadline, c.deadline);
    }
    const int timeout_ms =
        static_cast<int>(std::max<int64_t>(1, absl::ToInt64Milliseconds(next_deadline - now) + 1));
    if (poll(polled.data(), polled.size(), timeout_ms) < 0 && errno != EINTR) break;
    if (stopping_.load()) break;

    // Serve the connections that are ready first, then accept (so a new connection's index
    // does not shift the poll results).
    for (size_t i = 0; i < connections.size(); ++i) {
      const short events = polled[i + 2].revents;
      if (events == 0) continue;
      Connection& c = connections[i];
      if (events & (POLLERR | POLLNVAL)) {
        close(c.fd);
        c.fd = -1;
        continue;
      }
      if (!c.answering) {
        Read(c);
      } else {
        Write(c);
      }
    }
    std::erase_if(connections, [](const Connection& c) { return c.fd < 0; });
    if (polled[1].revents & POLLIN) Accept(connections);
  }
  for (Connection& c : connections) close(c.fd);
}

void OpsHttpServer::Accept(std::vector<Connection>& connections) {
  while (true) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN: none left (or a transient error; poll tells us again)
    if (connections.size() >= static_cast<size_t>(limits_.max_connections)) {
      // Full: make room by dropping the connection that has been open longest (the likeliest
      // idle or hostile one). A probe that just connected always gets a slot this way.
      auto oldest = std::min_element(
          connections.begin(), connections.end(),
          [](const Connection& a, const Connection& b) { return a.accepted < b.accepted; });
      close(oldest->fd);
      connections.erase(oldest);
      dropped_.fetch_add(1);
    }
    Connection c;
    c.fd = fd;
    c.accepted = absl::Now();
    c.deadline = c.accepted + limits_.request_timeout;
    connections.push_back(std::move(c));
  }
}

void OpsHttpServer::Read(Connection& c) {
  char buffer[4096];
  const ssize_t n = recv(c.fd, buffer, sizeof(buffer), 0);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
    close(c.fd);
    c.fd = -1;
    return;
  }
  if (n < 0) return;
  c.in.append(buffer, static_cast<size_t>(n));
  const size_t end = c.in.find("\r\n\r\n");
  if (end == std::string::npos) {
    if (c.in.size() > kMaxRequestHeadBytes) {
      c.out = Response(431, "Request Header Fields Too Large", "text/plain", "too large\n", false);
      c.answering = true;
      c.deadline = absl::Now() + limits_.request_timeout;
    }
    return;
  }
  c.out = Answer(c.in.substr(0, c.in.find("\r\n")));
  c.answering = true;
  c.deadline = absl::Now() + limits_.request_timeout;  // a fresh budget to take the answer
  Write(c);
}

void OpsHttpServer::Write(Connection& c) {
  while (c.written < c.out.size()) {
    const ssize_t n = send(c.fd, c.out.data() + c.written, c.out.size() - c.written, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;  // poll says when to go on
      break;
    }
    c.written += static_cast<size_t>(n);
  }
  close(c.fd);  // answered (or the client went away): Connection: close
  c.fd = -1;
}

std::string OpsHttpServer::Answer(const std::string& request_line) const {
  const std::vector<std::string> parts = absl::StrSplit(request_line, ' ');
  if (parts.size() != 3 || parts[2].rfind("HTTP/1.", 0) != 0) {
    return Response(400, "Bad Request", "text/plain", "bad request\n", false);
  }
  const bool head = parts[0] == "HEAD";
  if (parts[0] != "GET" && !head) {
    return Response(405, "Method Not Allowed", "text/plain", "GET only\n", false);
  }
  const std::string path = parts[1].substr(0, parts[1].find('?'));
  if (path == "/livez") return Response(200, "OK", "text/plain", "ok\n", head);
  if (path == "/readyz") {
    const Readiness r = readiness_();
    return Response(r.ready ? 200 : 503, r.ready ? "OK" : "Service Unavailable", "text/plain",
                    r.reason + "\n", head);
  }
  if (path == "/version") {
    return Response(200, "OK", "text/plain", std::string(BuildVersion()) + "\n", head);
  }
  if (path == "/metrics") {
    const std::string body = prometheus::TextSerializer().Serialize(registry_->Collect());
    return Response(200, "OK", "text/plain; version=0.0.4; charset=utf-8", body, head);
  }
  return Response(404, "Not Found", "text/plain", "not found\n", head);
}

void OpsHttpServer::Stop() {
  if (!stopping_.exchange(true) && wake_[1] >= 0) {
    const char byte = 0;
    (void)!write(wake_[1], &byte, 1);
  }
  if (thread_.joinable()) thread_.join();
  for (int* fd : {&listen_fd_, &wake_[0], &wake_[1]}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
}

OpsHttpServer::~OpsHttpServer() { Stop(); }

}  // namespace dorset::runtime
