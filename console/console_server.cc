// The web console's HTTP server (see console_server.h).
#include "console/console_server.h"

#include <httplib.h>

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "console/layout.h"
#include "console/pages/pages.h"
#include "runtime/config/config.h"

namespace dorset::console {
namespace {

// The console's own script: nhsuk-frontend's components (an ES module) started on every page.
// The pages work without it; it only enhances (e.g. the header's menu, the error summary's focus).
constexpr char kConsoleScript[] = R"js(import { initAll } from '/assets/nhsuk-frontend.min.js';
document.body.classList.add('js-enabled', 'nhsuk-frontend-supported');
initAll();
)js";

std::string ContentType(const std::string& path) {
  const std::pair<const char*, const char*> types[] = {{".css", "text/css; charset=utf-8"},
                                                       {".js", "text/javascript; charset=utf-8"},
                                                       {".mjs", "text/javascript; charset=utf-8"},
                                                       {".svg", "image/svg+xml"},
                                                       {".png", "image/png"},
                                                       {".ico", "image/x-icon"},
                                                       {".json", "application/json"},
                                                       {".map", "application/json"}};
  for (const auto& [ext, type] : types) {
    if (absl::EndsWith(path, ext)) return type;
  }
  return "";
}

// A path under /assets/ the console will serve: the design system's files only, no way out of
// the directory (segments of letters, digits, '.', '-', '_', none starting with '.').
bool SafeAssetPath(const std::string& path) {
  if (path.empty() || path.size() > 200) return false;
  bool segment_start = true;
  for (char c : path) {
    if (c == '/') {
      if (segment_start) return false;
      segment_start = true;
      continue;
    }
    if (segment_start && c == '.') return false;
    segment_start = false;
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') {
      return false;
    }
  }
  return !segment_start;
}

}  // namespace

ConsoleServer::ConsoleServer(ConsoleOptions options, std::unique_ptr<ConsoleContext> context)
    : options_(std::move(options)), context_(std::move(context)) {}

ConsoleServer::~ConsoleServer() { Stop(); }

void ConsoleServer::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

absl::StatusOr<std::unique_ptr<ConsoleServer>> ConsoleServer::Start(
    ConsoleOptions options, std::unique_ptr<ConsoleContext> context) {
  absl::StatusOr<std::pair<std::string, int>> address = runtime::SplitHostPort(options.listen);
  if (!address.ok()) return address.status();
  if (!std::ifstream(options.assets_dir + "/nhsuk-frontend.min.css").good()) {
    return absl::FailedPreconditionError(absl::StrCat("assets_dir: no nhsuk-frontend.min.css in ",
                                                      options.assets_dir,
                                                      " (npm ci installs nhsuk-frontend)"));
  }
  context->tls = !options.tls_cert.empty();
  std::unique_ptr<ConsoleServer> self(new ConsoleServer(std::move(options), std::move(context)));
  ConsoleServer* console = self.get();
  const ConsoleOptions& opts = console->options_;
  if (!opts.tls_cert.empty()) {
    auto tls = std::make_unique<httplib::SSLServer>(opts.tls_cert.c_str(), opts.tls_key.c_str());
    if (!tls->is_valid())
      return absl::InvalidArgumentError("console: cannot load tls_cert/tls_key");
    console->server_ = std::move(tls);
  } else {
    console->server_ = std::make_unique<httplib::Server>();
  }
  httplib::Server& server = *console->server_;
  const int threads = opts.threads;
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_payload_max_length(64 * 1024);  // the largest form is a response of 20,000 bytes
  server.set_read_timeout(10, 0);
  server.set_write_timeout(10, 0);

  ConsoleContext& ctx = *console->context_;
  Router router(server, ctx);
  router.Get("/livez", [](const httplib::Request&, httplib::Response& res, ConsoleContext&) {
    res.set_content("ok\n", "text/plain");
  });
  router.Get("/readyz", [](const httplib::Request&, httplib::Response& res, ConsoleContext&) {
    res.set_content("ok\n", "text/plain");
  });
  router.Get("/", [](const httplib::Request&, httplib::Response& res, ConsoleContext&) {
    res.set_redirect("/consultations", 303);
  });
  RegisterConsultationPages(router);
  RegisterYouSaidWeDidPage(router);
  RegisterRespondPages(router);
  RegisterStaffPages(router);
  RegisterOpsPage(router);
  RegisterFinancePages(router);
  RegisterEngagementPages(router);
  RegisterRegistryPages(router);

  router.Get("/static/console.mjs",
             [](const httplib::Request&, httplib::Response& res, ConsoleContext&) {
               res.set_header("Cache-Control", "no-cache");
               res.set_content(kConsoleScript, "text/javascript; charset=utf-8");
             });
  const std::string assets = opts.assets_dir;
  router.Get(R"(/assets/(.+))",
             [assets](const httplib::Request& req, httplib::Response& res, ConsoleContext&) {
               const std::string path = req.matches[1].str();
               const std::string type = ContentType(path);
               // The package keeps its bundles in dist/nhsuk and its images in
               // dist/nhsuk/assets, and its CSS names both as /assets/...: one address space.
               std::ifstream file;
               if (SafeAssetPath(path) && !type.empty()) {
                 file.open(assets + "/assets/" + path, std::ios::binary);
                 if (!file) file.open(assets + "/" + path, std::ios::binary);
               }
               if (!file.is_open() || !file) {
                 return SendPage(res, MessagePage("Page not found", "There is nothing here."), 404);
               }
               std::stringstream content;
               content << file.rdbuf();
               res.set_header("Cache-Control", "public, max-age=3600");
               res.set_content(content.str(), type);
             });
  server.set_error_handler(httplib::Server::HandlerWithResponse([console](const httplib::Request&,
                                                                          httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    SetSecurityHeaders(res, console->context_->tls);
    const int status = res.status;
    if (status == 404) {
      SendPage(res, MessagePage("Page not found", "There is nothing at this address."), 404);
    } else {
      SendPage(res, MessagePage("Sorry, we could not do that", "The request was refused."), status);
    }
    return httplib::Server::HandlerResponse::Handled;
  }));
  server.set_exception_handler(
      [console](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        SetSecurityHeaders(res, console->context_->tls);
        SendStatusPage(res, absl::InternalError("exception"));
      });

  if (address->second == 0) {
    console->port_ = server.bind_to_any_port(address->first);
  } else {
    console->port_ = server.bind_to_port(address->first, address->second) ? address->second : -1;
  }
  if (console->port_ <= 0) {
    return absl::UnavailableError(absl::StrCat("console: cannot listen on ", opts.listen));
  }
  console->thread_ = std::thread([console] { console->server_->listen_after_bind(); });
  return self;
}

}  // namespace dorset::console
