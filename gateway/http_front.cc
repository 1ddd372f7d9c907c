// The gateway's event-driven HTTP/1.1 front (see http_front.h): the epoll loop that accepts,
// reads, flushes and sweeps idle connections, and its start and stop. Requests are answered in
// http_exchange.cc; the connection both share is in http_connection.h.
#include "gateway/http_front.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "gateway/http_connection.h"

namespace dorset::gateway {

void HttpFront::Loop::Accept() {
  while (true) {
    const int fd = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or out of descriptors (retried on the next wake)
    const int one = 1;
    // Answers go out in one send, but a stream's chunks must not wait for delayed ACKs either.
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto c = std::make_shared<HttpConnection>(fd, shared_from_this());
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.ptr = c.get();
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event) != 0) continue;  // ~HttpConnection closes
    connections.emplace(c.get(), std::move(c));
  }
}

void HttpFront::Loop::Drop(const std::shared_ptr<HttpConnection>& c) {
  {
    std::lock_guard<std::mutex> lock(c->mu);
    c->MarkClosed();
  }
  epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c->fd, nullptr);
  connections.erase(c.get());
}

void HttpFront::Loop::Read(const std::shared_ptr<HttpConnection>& c) {
  char buffer[64 * 1024];
  const ssize_t got = recv(c->fd, buffer, sizeof buffer, 0);
  if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
  if (got <= 0) return Drop(c);
  {
    std::lock_guard<std::mutex> lock(c->mu);
    if (c->closed) return;
    c->last_active = std::chrono::steady_clock::now();
    if (c->refused) return;  // read and dropped until the caller closes
    c->in.append(buffer, static_cast<size_t>(got));
    if (c->in.size() > kMaxBuffered) {
      c->MarkClosed();
      return;
    }
  }
  Process(c);
}

void HttpFront::Loop::Flush(const std::shared_ptr<HttpConnection>& c) {
  std::lock_guard<std::mutex> lock(c->mu);
  while (!c->out.empty() && !c->closed) {
    const ssize_t sent = send(c->fd, c->out.data(), c->out.size(), MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR) continue;
      c->MarkClosed();
      return;
    }
    c->out.erase(0, static_cast<size_t>(sent));
  }
  c->Arm(false);
  c->drained.notify_all();
  c->MaybeShutdown();
}

void HttpFront::Loop::Sweep() {
  const auto now = std::chrono::steady_clock::now();
  std::vector<std::shared_ptr<HttpConnection>> idle;
  for (const auto& [ptr, c] : connections) {
    std::lock_guard<std::mutex> lock(c->mu);
    if (!c->busy && c->out.empty() && now - c->last_active > kIdleTimeout) idle.push_back(c);
  }
  for (const auto& c : idle) Drop(c);
}

void HttpFront::Loop::Run() {
  std::vector<epoll_event> events(256);
  auto last_sweep = std::chrono::steady_clock::now();
  while (!stopping) {
    const int n = epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()), 1000);
    for (int i = 0; i < n && !stopping; ++i) {
      void* ptr = events[i].data.ptr;
      if (ptr == this) {
        Accept();
        continue;
      }
      if (ptr == &wake_fd) continue;
      const auto it = connections.find(static_cast<HttpConnection*>(ptr));
      if (it == connections.end()) continue;
      const std::shared_ptr<HttpConnection> c = it->second;
      if (events[i].events & EPOLLOUT) Flush(c);
      if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) Read(c);
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - last_sweep > std::chrono::seconds(1)) {
      Sweep();
      last_sweep = now;
    }
  }
  while (!connections.empty()) Drop(connections.begin()->second);
}

absl::StatusOr<std::unique_ptr<HttpFront>> HttpFront::Start(const std::string& host, int port,
                                                            HttpLimits limits, HttpHandler handler,
                                                            HttpRefusal refusal) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found) != 0 ||
      found == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("gateway: cannot resolve ", host));
  }
  auto loop = std::make_shared<Loop>();
  loop->limits = limits;
  loop->handler = std::move(handler);
  loop->refusal = std::move(refusal);
  for (addrinfo* a = found; a != nullptr && loop->listen_fd < 0; a = a->ai_next) {
    const int fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
      close(fd);
      continue;
    }
    loop->listen_fd = fd;
  }
  freeaddrinfo(found);
  if (loop->listen_fd < 0) {
    return absl::UnavailableError(absl::StrCat("gateway: cannot listen on ", host, ":", port));
  }
  sockaddr_storage bound{};
  socklen_t bound_length = sizeof bound;
  getsockname(loop->listen_fd, reinterpret_cast<sockaddr*>(&bound), &bound_length);
  std::unique_ptr<HttpFront> front(new HttpFront);
  front->port_ =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  loop->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.ptr = loop.get();
  epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, loop->listen_fd, &event);
  event.data.ptr = &loop->wake_fd;
  epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, loop->wake_fd, &event);
  front->loop_ = loop;
  front->thread_ = std::thread([loop] { loop->Run(); });
  return front;
}

HttpFront::~HttpFront() { Stop(); }

void HttpFront::Stop() {
  if (!thread_.joinable()) return;
  loop_->stopping = true;
  const uint64_t one = 1;
  (void)!write(loop_->wake_fd, &one, sizeof one);
  thread_.join();
}

}  // namespace dorset::gateway
