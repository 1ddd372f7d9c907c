// The console's defences, one job each:
// - SecurityHeaders: every response's headers (CSP without 'unsafe-inline', frame-ancestors
//   'none', nosniff, Referrer-Policy, and HSTS when served over TLS);
// - CsrfGuard: forms carry a token bound to the browser's own csrf cookie (HttpOnly,
//   SameSite=Strict, Secure under TLS), signed with HMAC-SHA256 under the console's key; a post
//   without it, or with another browser's, is refused;
// - RateLimiter: a token bucket per client address for the public response form, bounded in
//   memory (the oldest idle buckets are dropped first).
#ifndef DORSET_CONSOLE_SECURITY_H_
#define DORSET_CONSOLE_SECURITY_H_

#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace dorset::console {

void SetSecurityHeaders(httplib::Response& res, bool tls);

class CsrfGuard {
 public:
  // `key`: the signing key (at least 32 bytes; random per process when empty).
  CsrfGuard(std::string key, bool tls);

  // The form token for this browser, setting its csrf cookie first when it has none.
  std::string TokenFor(const httplib::Request& req, httplib::Response& res) const;
  // True when the post's csrf_token field is this browser's token.
  bool Verify(const httplib::Request& req) const;

  static constexpr char kCookie[] = "dorset_csrf";
  static constexpr char kField[] = "csrf_token";

 private:
  std::string Sign(const std::string& cookie) const;

  std::string key_;
  bool tls_;
};

// The value of cookie `name` in the request, or "".
std::string CookieValue(const httplib::Request& req, const std::string& name);

class RateLimiter {
 public:
  RateLimiter(int per_minute, int burst, size_t max_clients = 10000);
  // Takes one token from `client`'s bucket; false (and the wait before the next) when empty.
  bool Allow(const std::string& client, absl::Time now, absl::Duration* retry_after);

 private:
  struct Bucket {
    double tokens;
    absl::Time updated;
  };
  const double per_second_;
  const double burst_;
  const size_t max_clients_;
  absl::Mutex mu_;
  std::map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace dorset::console

#endif  // DORSET_CONSOLE_SECURITY_H_
