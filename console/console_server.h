// The web console's HTTP server (dorset-console): a sibling process of the gateway on the same
// runtime, holding no data. It serves the pages (console/pages/, one file per page or area),
// nhsuk-frontend's CSS, JavaScript and images from /assets (installed from npm at build time;
// no CDN), its own small script at /static, and /livez and /readyz for probes. Every answer
// carries the security headers (console/security.h).
#ifndef DORSET_CONSOLE_CONSOLE_SERVER_H_
#define DORSET_CONSOLE_CONSOLE_SERVER_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "console/console_context.h"

namespace dorset::console {

struct ConsoleOptions {
  std::string listen = "127.0.0.1:0";  // host:port, port 0 = any free
  std::string tls_cert;                // PEM; with tls_key serves HTTPS (and HSTS)
  std::string tls_key;
  std::string assets_dir;  // nhsuk-frontend's dist/nhsuk
  int threads = 8;
};

class ConsoleServer {
 public:
  static absl::StatusOr<std::unique_ptr<ConsoleServer>> Start(
      ConsoleOptions options, std::unique_ptr<ConsoleContext> context);
  ~ConsoleServer();

  int port() const { return port_; }
  void Stop();

 private:
  ConsoleServer(ConsoleOptions options, std::unique_ptr<ConsoleContext> context);

  ConsoleOptions options_;
  std::unique_ptr<ConsoleContext> context_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace dorset::console

#endif  // DORSET_CONSOLE_CONSOLE_SERVER_H_
