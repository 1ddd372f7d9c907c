// The HTTP ops server on its own port, for Kubernetes and Prometheus:
//   /livez    200 while the process is up and not wedged
//   /readyz   200 when the service can serve (a degraded cache still serves), else 503,
//             with a short plain-text reason either way
//   /metrics  Prometheus text format 0.0.4
//   /version  the build's version, e.g. "0.1.0+30f126f1a2b3" (runtime/server/build_version.h)
// One thread multiplexes every connection with poll(), so a client that connects and sends
// nothing, or drips a byte at a time, costs one slot and no thread: each connection must send
// its request and take its answer within a deadline, and when all slots are taken the oldest
// connection is dropped for the new one. (cpp-httplib, used before, gave each connection one of
// two worker threads for as long as it kept sending, so two dripping clients stopped /livez.)
// HTTP/1.1 GET and HEAD only, one request per connection (Connection: close).
#ifndef DORSET_RUNTIME_SERVER_OPS_HTTP_SERVER_H_
#define DORSET_RUNTIME_SERVER_OPS_HTTP_SERVER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace prometheus {
class Registry;
}

namespace dorset::runtime {

struct Readiness {
  bool ready = false;
  std::string reason;  // e.g. "ok", "ok; cache degraded: ...", "store not open", "shutting down"
};

struct OpsHttpLimits {
  // Connections held at once; beyond it the oldest is closed to make room.
  int max_connections = 64;
  // Time a connection has to send its request, and again to take its answer.
  absl::Duration request_timeout = absl::Seconds(5);
};

class OpsHttpServer {
 public:
  using ReadinessFn = std::function<Readiness()>;

  // Binds `listen` (host:port, port 0 = any free) and serves on a background thread.
  static absl::StatusOr<std::unique_ptr<OpsHttpServer>> Start(
      const std::string& listen, std::shared_ptr<prometheus::Registry> registry,
      ReadinessFn readiness, OpsHttpLimits limits = {});
  ~OpsHttpServer();

  int port() const { return port_; }
  // Connections closed to make room for newer ones (tests, diagnosis).
  int64_t dropped() const { return dropped_.load(); }
  void Stop();

 private:
  struct Connection;
  static constexpr size_t kMaxRequestHeadBytes = 8192;

  OpsHttpServer() = default;
  void Loop();
  void Accept(std::vector<Connection>& connections);
  void Read(Connection& c);
  void Write(Connection& c);
  std::string Answer(const std::string& request_line) const;

  std::shared_ptr<prometheus::Registry> registry_;
  ReadinessFn readiness_;
  OpsHttpLimits limits_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> dropped_{0};
  std::thread thread_;
};

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_SERVER_OPS_HTTP_SERVER_H_
