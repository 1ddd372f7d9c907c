// The console's defences (see security.h).
#include "console/security.h"

#include <httplib.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace dorset::console {
namespace {

// Scripts and styles only from the console itself: nothing inline, nothing from elsewhere.
// nhsuk-frontend's CSS names its web fonts on assets.nhs.uk; they are not fetched (font-src
// 'self'), so the pages fall back to Arial as the design system itself does while they load.
constexpr char kCsp[] =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'";

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(raw.size()));
  return absl::BytesToHexString(raw);
}

}  // namespace

void SetSecurityHeaders(httplib::Response& res, bool tls) {
  res.set_header("Content-Security-Policy", kCsp);
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("Cross-Origin-Opener-Policy", "same-origin");
  res.set_header("Permissions-Policy", "camera=(), microphone=(), geolocation=()");
  if (tls) res.set_header("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
}

std::string CookieValue(const httplib::Request& req, const std::string& name) {
  for (size_t i = 0, n = req.get_header_value_count("Cookie"); i < n; ++i) {
    const std::string header = req.get_header_value("Cookie", i);
    for (absl::string_view part : absl::StrSplit(header, ';')) {
      part = absl::StripAsciiWhitespace(part);
      if (absl::ConsumePrefix(&part, name) && absl::ConsumePrefix(&part, "=")) {
        return std::string(part);
      }
    }
  }
  return "";
}

CsrfGuard::CsrfGuard(std::string key, bool tls) : key_(std::move(key)), tls_(tls) {
  if (key_.size() < 32) key_ = RandomHex(32);
}

std::string CsrfGuard::Sign(const std::string& cookie) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(cookie.data()), cookie.size(), mac, &length);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(mac), static_cast<size_t>(length)));
}

// A cookie the console made is 32 hex digits; anything else is replaced.
static bool WellFormed(const std::string& cookie) {
  return cookie.size() == 32 &&
         std::all_of(cookie.begin(), cookie.end(), [](char c) { return std::isxdigit(c); });
}

std::string CsrfGuard::TokenFor(const httplib::Request& req, httplib::Response& res) const {
  std::string cookie = CookieValue(req, kCookie);
  if (!WellFormed(cookie)) {
    cookie = RandomHex(16);
    res.set_header("Set-Cookie", std::string(kCookie) + "=" + cookie +
                                     "; Path=/; HttpOnly; SameSite=Strict" +
                                     (tls_ ? "; Secure" : ""));
  }
  return Sign(cookie);
}

bool CsrfGuard::Verify(const httplib::Request& req) const {
  const std::string cookie = CookieValue(req, kCookie);
  if (!WellFormed(cookie) || !req.has_param(kField)) return false;
  const std::string sent = req.get_param_value(kField);
  const std::string expected = Sign(cookie);
  return sent.size() == expected.size() &&
         CRYPTO_memcmp(sent.data(), expected.data(), expected.size()) == 0;
}

RateLimiter::RateLimiter(int per_minute, int burst, size_t max_clients)
    : per_second_(per_minute / 60.0), burst_(burst), max_clients_(max_clients) {}

bool RateLimiter::Allow(const std::string& client, absl::Time now, absl::Duration* retry_after) {
  absl::MutexLock lock(&mu_);
  auto it = buckets_.find(client);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_clients_) {
      // Drop the bucket idle longest: a full bucket again by now, or the closest to it.
      auto oldest = std::min_element(buckets_.begin(), buckets_.end(), [](auto& a, auto& b) {
        return a.second.updated < b.second.updated;
      });
      buckets_.erase(oldest);
    }
    it = buckets_.emplace(client, Bucket{burst_, now}).first;
  }
  Bucket& b = it->second;
  b.tokens = std::min(burst_, b.tokens + absl::ToDoubleSeconds(now - b.updated) * per_second_);
  b.updated = now;
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return true;
  }
  *retry_after = absl::Seconds((1.0 - b.tokens) / per_second_);
  return false;
}

}  // namespace dorset::console
