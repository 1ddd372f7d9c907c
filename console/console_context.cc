// Page answers and routing for the console (see console_context.h).
#include "console/console_context.h"

#include <httplib.h>

#include "console/layout.h"

namespace dorset::console {

void SendPage(httplib::Response& res, const SafeHtml& page, int status) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(page.str(), "text/html; charset=utf-8");
}

void SendStatusPage(httplib::Response& res, const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      return SendPage(res, MessagePage("Page not found", "There is nothing at this address."), 404);
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
      return SendPage(res,
                      MessagePage("Sorry, there is a problem with the service",
                                  "The service is not available just now. Try again later."),
                      503);
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
      return SendPage(
          res, MessagePage("Sorry, we could not do that", std::string(status.message())), 400);
    default:
      return SendPage(res,
                      MessagePage("Sorry, there is a problem with the service",
                                  "Something went wrong on our side. Try again later."),
                      500);
  }
}

std::optional<Session> RequireLogin(const httplib::Request& req, httplib::Response& res,
                                    ConsoleContext& context) {
  std::optional<Session> session = context.sessions->Find(req, absl::Now());
  if (!session) {
    // Only the path comes back (no host, no query), so the login cannot send anyone elsewhere.
    res.set_redirect("/staff/login?next=" + httplib::detail::encode_query_param(req.path), 303);
  }
  return session;
}

runtime::CallOptions AsPerson(const Session& session) {
  runtime::CallOptions call;
  call.bearer_token = session.token;
  return call;
}

void SendPersonStatusPage(const httplib::Request& req, httplib::Response& res,
                          ConsoleContext& context, const absl::Status& status) {
  if (absl::IsPermissionDenied(status)) {
    return SendPage(res,
                    MessagePage("You cannot see this page",
                                "Your role does not allow this. Ask an administrator if you need "
                                "it."),
                    403);
  }
  if (absl::IsUnauthenticated(status)) {
    context.sessions->End(req, res);
    res.set_redirect("/staff/login?next=" + httplib::detail::encode_query_param(req.path), 303);
    return;
  }
  SendStatusPage(res, status);
}

void Router::Get(const std::string& pattern, PageHandler handler) {
  ConsoleContext* context = &context_;
  server_.Get(pattern, [context, handler](const httplib::Request& req, httplib::Response& res) {
    SetSecurityHeaders(res, context->tls);
    handler(req, res, *context);
  });
}

void Router::Post(const std::string& pattern, PageHandler handler) {
  ConsoleContext* context = &context_;
  server_.Post(pattern, [context, handler](const httplib::Request& req, httplib::Response& res) {
    SetSecurityHeaders(res, context->tls);
    handler(req, res, *context);
  });
}

}  // namespace dorset::console
