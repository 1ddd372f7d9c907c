// The HTTP ops server on its own port, for Kubernetes and Prometheus:
//   /livez    200 while the process is up and not wedged
//   /readyz   200 when the service can serve (a degraded cache still serves), else 503,
//             with a short plain-text reason either way
//   /metrics  Prometheus text format 0.0.4
#ifndef DORSET_RUNTIME_SERVER_OPS_HTTP_SERVER_H_
#define DORSET_RUNTIME_SERVER_OPS_HTTP_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace httplib {
class Server;
}
namespace prometheus {
class Registry;
}

namespace dorset::runtime {

struct Readiness {
  bool ready = false;
  std::string reason;  // e.g. "ok", "ok; cache degraded: ...", "store not open", "shutting down"
};

class OpsHttpServer {
 public:
  using ReadinessFn = std::function<Readiness()>;

  // Binds `listen` (host:port, port 0 = any free) and serves on a background thread.
  static absl::StatusOr<std::unique_ptr<OpsHttpServer>> Start(
      const std::string& listen, std::shared_ptr<prometheus::Registry> registry,
      ReadinessFn readiness);
  ~OpsHttpServer();

  int port() const { return port_; }
  void Stop();

 private:
  OpsHttpServer() = default;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_SERVER_OPS_HTTP_SERVER_H_
