// Staff sessions: a person logs in with their bearer token once; the console keeps it on the
// server under a random session id, which the browser holds in an HttpOnly, Secure,
// SameSite=Strict cookie. Every staff page calls the services with that person's own token, so
// the services' permission table decides what they may see and do (a reader gets personal data
// redacted, exactly as through the API). Sessions end on logout, after `idle` without a request,
// or `lifetime` after login; the store is bounded (the oldest sessions go first).
//
// Sessions live in this process: replicas behind one address need sticky routing for now.
#ifndef DORSET_CONSOLE_SESSION_H_
#define DORSET_CONSOLE_SESSION_H_

#include <map>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace dorset::console {

struct Session {
  std::string id;
  std::string token;  // the person's bearer token, sent with each of their calls
  absl::Time created;
  absl::Time last_seen;
};

class SessionStore {
 public:
  SessionStore(absl::Duration idle = absl::Minutes(30), absl::Duration lifetime = absl::Hours(8),
               size_t max_sessions = 10000);

  // A new session for `token`; sets the cookie on `res`.
  Session Create(const std::string& token, httplib::Response& res, absl::Time now);
  // The request's session when its cookie names a live one (and marks it seen).
  std::optional<Session> Find(const httplib::Request& req, absl::Time now);
  // Ends the request's session and clears the cookie.
  void End(const httplib::Request& req, httplib::Response& res);

  static constexpr char kCookie[] = "dorset_session";

 private:
  const absl::Duration idle_;
  const absl::Duration lifetime_;
  const size_t max_sessions_;
  absl::Mutex mu_;
  std::map<std::string, Session> sessions_ ABSL_GUARDED_BY(mu_);
};

}  // namespace dorset::console

#endif  // DORSET_CONSOLE_SESSION_H_
