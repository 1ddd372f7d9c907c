// Staff sessions (see session.h).
#include "console/session.h"

#include <httplib.h>
#include <openssl/rand.h>

#include <algorithm>

#include "absl/strings/escaping.h"
#include "console/security.h"

namespace dorset::console {
namespace {

// Secure always: browsers keep Secure cookies from https and from http://localhost or
// 127.0.0.1 (a secure context), so the cookie never travels over plain HTTP elsewhere.
constexpr char kAttributes[] = "; Path=/; HttpOnly; Secure; SameSite=Strict";

}  // namespace

SessionStore::SessionStore(absl::Duration idle, absl::Duration lifetime, size_t max_sessions)
    : idle_(idle), lifetime_(lifetime), max_sessions_(max_sessions) {}

Session SessionStore::Create(const std::string& token, httplib::Response& res, absl::Time now) {
  std::string raw(32, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(raw.size()));
  Session session{absl::BytesToHexString(raw), token, now, now};
  {
    absl::MutexLock lock(&mu_);
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      const bool expired =
          now - it->second.last_seen > idle_ || now - it->second.created > lifetime_;
      it = expired ? sessions_.erase(it) : std::next(it);
    }
    if (sessions_.size() >= max_sessions_) {
      auto oldest = std::min_element(sessions_.begin(), sessions_.end(), [](auto& a, auto& b) {
        return a.second.created < b.second.created;
      });
      sessions_.erase(oldest);
    }
    sessions_[session.id] = session;
  }
  res.set_header("Set-Cookie", std::string(kCookie) + "=" + session.id + kAttributes);
  return session;
}

std::optional<Session> SessionStore::Find(const httplib::Request& req, absl::Time now) {
  const std::string id = CookieValue(req, kCookie);
  if (id.size() != 64) return std::nullopt;
  absl::MutexLock lock(&mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return std::nullopt;
  if (now - it->second.last_seen > idle_ || now - it->second.created > lifetime_) {
    sessions_.erase(it);
    return std::nullopt;
  }
  it->second.last_seen = now;
  return it->second;
}

void SessionStore::End(const httplib::Request& req, httplib::Response& res) {
  const std::string id = CookieValue(req, kCookie);
  {
    absl::MutexLock lock(&mu_);
    sessions_.erase(id);
  }
  res.set_header("Set-Cookie", std::string(kCookie) + "=" + kAttributes + "; Max-Age=0");
}

}  // namespace dorset::console
