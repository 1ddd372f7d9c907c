#include "runtime/server/ops_http_server.h"

#include <httplib.h>

#include "absl/strings/str_cat.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"
#include "runtime/config/config.h"
#include "runtime/status/status_macros.h"

namespace dorset::runtime {

absl::StatusOr<std::unique_ptr<OpsHttpServer>> OpsHttpServer::Start(
    const std::string& listen, std::shared_ptr<prometheus::Registry> registry,
    ReadinessFn readiness) {
  ASSIGN_OR_RETURN(auto host_port, SplitHostPort(listen));
  std::unique_ptr<OpsHttpServer> ops(new OpsHttpServer());  // private constructor
  ops->server_ = std::make_unique<httplib::Server>();
  httplib::Server& server = *ops->server_;
  server.new_task_queue = [] { return new httplib::ThreadPool(2); };

  server.Get("/livez", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  server.Get("/readyz", [readiness](const httplib::Request&, httplib::Response& res) {
    const Readiness r = readiness();
    res.status = r.ready ? 200 : 503;
    res.set_content(r.reason + "\n", "text/plain");
  });
  server.Get("/metrics", [registry](const httplib::Request&, httplib::Response& res) {
    const std::string body = prometheus::TextSerializer().Serialize(registry->Collect());
    res.set_content(body, "text/plain; version=0.0.4; charset=utf-8");
  });

  const auto& [host, port] = host_port;
  if (port == 0) {
    ops->port_ = server.bind_to_any_port(host);
    if (ops->port_ <= 0)
      return absl::UnavailableError(absl::StrCat("ops_listen: cannot bind ", listen));
  } else {
    if (!server.bind_to_port(host, port)) {
      return absl::UnavailableError(absl::StrCat("ops_listen: cannot bind ", listen));
    }
    ops->port_ = port;
  }
  ops->thread_ = std::thread([&server] { server.listen_after_bind(); });
  return ops;
}

void OpsHttpServer::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

OpsHttpServer::~OpsHttpServer() { Stop(); }

}  // namespace dorset::runtime
