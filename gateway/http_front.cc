// The gateway's event-driven HTTP/1.1 front (see http_front.h).
#include "gateway/http_front.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <unordered_map>

#include "absl/strings/str_cat.h"

namespace dorset::gateway {

struct HttpFront::Loop : std::enable_shared_from_this<HttpFront::Loop> {
  int epoll_fd = -1;
  int listen_fd = -1;
  int wake_fd = -1;
  HttpLimits limits;
  HttpHandler handler;
  HttpRefusal refusal;
  std::atomic<bool> stopping{false};
  // The loop thread's own: every open connection by address.
  std::unordered_map<HttpConnection*, std::shared_ptr<HttpConnection>> connections;

  ~Loop() {
    if (listen_fd >= 0) close(listen_fd);
    if (wake_fd >= 0) close(wake_fd);
    if (epoll_fd >= 0) close(epoll_fd);
  }
  void Run();
  void Accept();
  void Read(const std::shared_ptr<HttpConnection>& c);
  void Flush(const std::shared_ptr<HttpConnection>& c);
  void Drop(const std::shared_ptr<HttpConnection>& c);
  void Sweep();
};

// Bytes still to come from a connection that pipelines while its request is served are capped;
// past this it is closed (no legitimate caller queues more than a request's worth).
constexpr size_t kMaxBuffered = 4 << 20;
// Unsent response bytes above which a streaming writer waits for the caller to read.
constexpr size_t kMaxUnsent = 1 << 20;
// An idle keep-alive connection (no request in progress) is closed after this.
constexpr auto kIdleTimeout = std::chrono::seconds(60);
// A stream's writer gives up on a caller that reads nothing for this long.
constexpr auto kWriteTimeout = std::chrono::seconds(10);

class HttpConnection {
 public:
  HttpConnection(int fd, std::shared_ptr<HttpFront::Loop> loop)
      : fd(fd), loop(std::move(loop)), last_active(std::chrono::steady_clock::now()) {}
  ~HttpConnection() { close(fd); }

  const int fd;
  // Shared so that it outlives answers that come after the front stopped.
  const std::shared_ptr<HttpFront::Loop> loop;
  std::mutex mu;
  std::condition_variable drained;  // out shrank, or the connection closed
  std::string in;                   // received, not yet parsed
  std::string out;                  // to send, in order
  bool busy = false;                // a request is being answered
  bool processing = false;          // a thread is in Process for this connection
  bool closed = false;              // gone: nothing more is read or sent
  bool close_after = false;         // shut down once `out` is sent
  bool refused = false;             // no more requests are read (refused input or close asked)
  bool continue_sent = false;       // "100 Continue" sent for the request being received
  bool want_out = false;            // EPOLLOUT armed
  std::chrono::steady_clock::time_point last_active;

  // All below with mu held.
  void MarkClosed() {
    if (closed) return;
    closed = true;
    out.clear();
    in.clear();
    // Wakes the loop (a read of 0 or an error), which drops the connection.
    shutdown(fd, SHUT_RDWR);
    drained.notify_all();
  }
  void Arm(bool want) {
    if (want == want_out || closed) return;
    want_out = want;
    epoll_event event{};
    event.events = want ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
    event.data.ptr = this;
    epoll_ctl(loop->epoll_fd, EPOLL_CTL_MOD, fd, &event);
  }
  void MaybeShutdown() {
    if (close_after && out.empty() && !closed) shutdown(fd, SHUT_WR);
  }
  // Sends at once what the socket takes; the rest waits for EPOLLOUT.
  void Queue(std::string_view bytes) {
    if (closed) return;
    if (out.empty()) {
      ssize_t sent = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (sent < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
          MarkClosed();
          return;
        }
        sent = 0;
      }
      if (static_cast<size_t>(sent) == bytes.size()) return;
      bytes.remove_prefix(static_cast<size_t>(sent));
    }
    out.append(bytes);
    Arm(true);
  }
};

namespace {

std::string Head(const HttpReply& reply, bool keep_alive, bool chunked, size_t length) {
  std::string head = absl::StrCat("HTTP/1.1 ", reply.status, " ", HttpReason(reply.status), "\r\n");
  if (!reply.content_type.empty())
    absl::StrAppend(&head, "Content-Type: ", reply.content_type, "\r\n");
  for (const auto& [name, value] : reply.headers) absl::StrAppend(&head, name, ": ", value, "\r\n");
  if (chunked) {
    absl::StrAppend(&head, "Transfer-Encoding: chunked\r\n");
  } else {
    absl::StrAppend(&head, "Content-Length: ", length, "\r\n");
  }
  absl::StrAppend(&head,
                  keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n");
  return head;
}

// Parses and hands on the requests waiting on a connection, one at a time, until one is being
// answered or no complete request is left. Any thread; one at a time per connection.
void Process(const std::shared_ptr<HttpConnection>& c) {
  std::unique_lock<std::mutex> lock(c->mu);
  if (c->processing) return;  // that thread's loop sees this one's change
  c->processing = true;
  const HttpFront::Loop& loop = *c->loop;
  while (!c->closed && !c->busy && !c->refused && !c->in.empty() && !loop.stopping) {
    HttpRequest request;
    const HttpParse parse = ParseHttpRequest(c->in, loop.limits, request);
    if (parse.state == HttpParse::kIncomplete) {
      if (request.expect_continue && !c->continue_sent) {
        c->continue_sent = true;
        c->Queue("HTTP/1.1 100 Continue\r\n\r\n");
      }
      break;
    }
    if (parse.state == HttpParse::kError) {
      const HttpReply reply = loop.refusal(parse.http_status, parse.error);
      c->refused = true;
      c->in.clear();
      c->close_after = true;
      c->Queue(absl::StrCat(Head(reply, false, false, reply.body.size()), reply.body));
      c->MaybeShutdown();
      break;
    }
    c->in.erase(0, parse.consumed);
    c->continue_sent = false;
    c->busy = true;
    const bool keep_alive = request.keep_alive;
    if (!keep_alive) c->refused = true;  // the caller sends nothing after this one
    auto exchange = std::make_shared<HttpExchange>(c, keep_alive, request.method == "HEAD");
    lock.unlock();
    loop.handler(std::move(request), std::move(exchange));
    lock.lock();
  }
  c->processing = false;
}

}  // namespace

void HttpExchange::Reply(HttpReply reply) {
  HttpConnection& c = *connection_;
  {
    std::lock_guard<std::mutex> lock(c.mu);
    std::string bytes = Head(reply, keep_alive_, false, reply.body.size());
    if (!head_) bytes.append(reply.body);
    c.Queue(bytes);
    if (!keep_alive_) {
      c.close_after = true;
      c.MaybeShutdown();
    }
    c.busy = false;
    c.last_active = std::chrono::steady_clock::now();
  }
  Process(connection_);
}

void HttpExchange::StartStream(HttpReply head) {
  std::lock_guard<std::mutex> lock(connection_->mu);
  connection_->Queue(Head(head, keep_alive_, true, 0));
}

bool HttpExchange::WriteChunk(std::string_view data) {
  if (data.empty()) return Writable();
  HttpConnection& c = *connection_;
  std::unique_lock<std::mutex> lock(c.mu);
  if (!c.drained.wait_for(lock, kWriteTimeout,
                          [&] { return c.closed || c.out.size() <= kMaxUnsent; })) {
    c.MarkClosed();
  }
  if (c.closed) return false;
  if (!head_) c.Queue(absl::StrCat(absl::Hex(data.size()), "\r\n", std::string(data), "\r\n"));
  c.last_active = std::chrono::steady_clock::now();
  return !c.closed;
}

void HttpExchange::EndStream() {
  HttpConnection& c = *connection_;
  {
    std::lock_guard<std::mutex> lock(c.mu);
    if (!head_) c.Queue("0\r\n\r\n");
    if (!keep_alive_) {
      c.close_after = true;
      c.MaybeShutdown();
    }
    c.busy = false;
    c.last_active = std::chrono::steady_clock::now();
  }
  Process(connection_);
}

bool HttpExchange::Writable() const {
  std::lock_guard<std::mutex> lock(connection_->mu);
  return !connection_->closed;
}

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

const char* HttpReason(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 499:
      return "Client Closed Request";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

}  // namespace dorset::gateway
