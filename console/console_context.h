// What every console page is given: the services' client libraries (the console reaches the
// services only through them), the CSRF guard, the public form's rate limit, and helpers to
// answer with a page or with an error page for a failed call.
#ifndef DORSET_CONSOLE_CONSOLE_CONTEXT_H_
#define DORSET_CONSOLE_CONSOLE_CONTEXT_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "console/html.h"
#include "console/security.h"
#include "console/session.h"
#include "services/engagement/client/engagement_client.h"
#include "services/finance/client/finance_client.h"
#include "services/registry/client/registry_client.h"

namespace httplib {
struct Request;
struct Response;
class Server;
}  // namespace httplib

namespace dorset::console {

struct ConsoleContext {
  std::unique_ptr<registry::RegistryClient> registry;
  std::unique_ptr<finance::FinanceClient> finance;
  std::unique_ptr<engagement::EngagementClient> engagement;
  std::unique_ptr<CsrfGuard> csrf;
  std::unique_ptr<RateLimiter> respond_limit;
  std::unique_ptr<SessionStore> sessions;
  std::unique_ptr<RateLimiter> login_limit;  // login attempts per client address
  // The services' ops HTTP addresses (host:port, /livez /readyz /metrics) for the ops page.
  std::string registry_ops;
  std::string finance_ops;
  std::string engagement_ops;
  bool tls = false;
};

// The logged-in person's session, or nullopt after answering with a redirect to the login page
// (which comes back to this page after login).
std::optional<Session> RequireLogin(const httplib::Request& req, httplib::Response& res,
                                    ConsoleContext& context);
// Call options that make a service call as the session's person (their own token).
runtime::CallOptions AsPerson(const Session& session);

// Sends `page` as text/html with `status`.
void SendPage(httplib::Response& res, const SafeHtml& page, int status = 200);
// An error page for a failed service call: 404 for NOT_FOUND, 503 when a service cannot be
// reached, 400 for a refused request, 500 otherwise; never the service's internal details.
void SendStatusPage(httplib::Response& res, const absl::Status& status);
// The page for a failed call made as a person: PERMISSION_DENIED is "your role cannot see this"
// (403), UNAUTHENTICATED sends them to log in again; anything else as SendStatusPage.
void SendPersonStatusPage(const httplib::Request& req, httplib::Response& res,
                          ConsoleContext& context, const absl::Status& status);

using PageHandler =
    std::function<void(const httplib::Request&, httplib::Response&, ConsoleContext&)>;

// Registers page handlers on the server; every answer gets the security headers.
class Router {
 public:
  Router(httplib::Server& server, ConsoleContext& context) : server_(server), context_(context) {}
  void Get(const std::string& pattern, PageHandler handler);
  void Post(const std::string& pattern, PageHandler handler);

 private:
  httplib::Server& server_;
  ConsoleContext& context_;
};

}  // namespace dorset::console

#endif  // DORSET_CONSOLE_CONSOLE_CONTEXT_H_
