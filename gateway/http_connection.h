// Inside the gateway's HTTP/1.1 front (http_front.h), shared by its two halves: the epoll loop
// (http_front.cc: accepting, reading, flushing, idle sweeps) and the answering of one connection's
// requests (http_exchange.cc: parsing what was read, HttpExchange's replies and streams). A
// connection is shared by the loop and every exchange answering on it; its fields are guarded
// by its mutex. Internal to the front:
//   { std::lock_guard<std::mutex> lock(c->mu); c->in.append(bytes); }
//   Process(c);  // hands the complete requests on, one at a time
#ifndef DORSET_GATEWAY_HTTP_CONNECTION_H_
#define DORSET_GATEWAY_HTTP_CONNECTION_H_

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "gateway/http_front.h"

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

// Parses and hands on the requests waiting on a connection, one at a time, until one is being
// answered or no complete request is left. Any thread; one at a time per connection.
void Process(const std::shared_ptr<HttpConnection>& c);

}  // namespace dorset::gateway

#endif  // DORSET_GATEWAY_HTTP_CONNECTION_H_
