// The console's parts without a browser: escaping and templates (console/html.h), the security
// headers with and without TLS, CSRF tokens bound to the browser's cookie, and the rate limit.
#include <httplib.h>

#include "absl/time/time.h"
#include "console/html.h"
#include "console/security.h"
#include "gtest/gtest.h"

namespace dorset::console {
namespace {

TEST(HtmlTest, StringsAreEscapedAndOnlySafeHtmlIsNot) {
  const SafeHtml page = Render(R"(<p title="{{t}}">{{body}}</p>{{raw}})",
                               {{"t", std::string("a\"b'c")},
                                {"body", std::string("<script>alert(1)</script> & more")},
                                {"raw", Trusted("<br>")}});
  EXPECT_EQ(page.str(),
            "<p title=\"a&quot;b&#39;c\">&lt;script&gt;alert(1)&lt;/script&gt; &amp; more</p><br>");
}

TEST(HtmlTest, PlaceholderWithoutValueIsEmptyAndValuesAreNotReRendered) {
  // A value that looks like a placeholder stays text: templates are only ever the source's.
  EXPECT_EQ(Render("[{{a}}][{{missing}}]", {{"a", std::string("{{missing}}")}}).str(),
            "[{{missing}}][]");
}

TEST(SecurityHeadersTest, CspWithoutUnsafeInlineAndHstsOnlyUnderTls) {
  httplib::Response plain;
  SetSecurityHeaders(plain, /*tls=*/false);
  const std::string csp = plain.get_header_value("Content-Security-Policy");
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
  EXPECT_EQ(plain.get_header_value("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(plain.get_header_value("Referrer-Policy"), "no-referrer");
  EXPECT_FALSE(plain.has_header("Strict-Transport-Security"));
  httplib::Response tls;
  SetSecurityHeaders(tls, /*tls=*/true);
  EXPECT_EQ(tls.get_header_value("Strict-Transport-Security"),
            "max-age=31536000; includeSubDomains");
}

// A request as the browser would send it after the form page set its cookie.
httplib::Request Post(const std::string& cookie_header, const std::string& token) {
  httplib::Request req;
  if (!cookie_header.empty()) req.headers.emplace("Cookie", cookie_header);
  if (!token.empty()) req.params.emplace(CsrfGuard::kField, token);
  return req;
}

TEST(CsrfGuardTest, TokenIsBoundToTheBrowsersCookie) {
  CsrfGuard guard("", /*tls=*/true);
  httplib::Request first;
  httplib::Response res;
  const std::string token = guard.TokenFor(first, res);
  const std::string set_cookie = res.get_header_value("Set-Cookie");
  EXPECT_NE(set_cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(set_cookie.find("SameSite=Strict"), std::string::npos);
  EXPECT_NE(set_cookie.find("Secure"), std::string::npos);
  const std::string cookie = set_cookie.substr(0, set_cookie.find(';'));  // dorset_csrf=<hex>

  EXPECT_TRUE(guard.Verify(Post("other=1; " + cookie, token)));
  EXPECT_FALSE(guard.Verify(Post(cookie, "")));                    // no token
  EXPECT_FALSE(guard.Verify(Post("", token)));                     // no cookie
  EXPECT_FALSE(guard.Verify(Post(cookie, std::string(64, 'f'))));  // a made-up token
  EXPECT_FALSE(guard.Verify(Post(std::string(CsrfGuard::kCookie) + "=" + std::string(32, 'a'),
                                 token)));  // another browser's
  // Another console process with another key refuses it too.
  CsrfGuard other("", /*tls=*/true);
  EXPECT_FALSE(other.Verify(Post(cookie, token)));
  // A browser that has the cookie keeps it (no new Set-Cookie) and gets the same token.
  httplib::Request again = Post(cookie, "");
  httplib::Response res2;
  EXPECT_EQ(guard.TokenFor(again, res2), token);
  EXPECT_FALSE(res2.has_header("Set-Cookie"));
}

TEST(CsrfGuardTest, NoSecureCookieOverPlainHttp) {
  CsrfGuard guard("", /*tls=*/false);
  httplib::Request req;
  httplib::Response res;
  guard.TokenFor(req, res);
  EXPECT_EQ(res.get_header_value("Set-Cookie").find("Secure"), std::string::npos);
}

TEST(RateLimiterTest, BurstThenRefillPerClient) {
  RateLimiter limiter(/*per_minute=*/6, /*burst=*/2, /*max_clients=*/2);
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  absl::Duration wait;
  EXPECT_TRUE(limiter.Allow("a", t0, &wait));
  EXPECT_TRUE(limiter.Allow("a", t0, &wait));
  EXPECT_FALSE(limiter.Allow("a", t0, &wait));
  EXPECT_EQ(wait, absl::Seconds(10));          // 6 a minute: one every 10 s
  EXPECT_TRUE(limiter.Allow("b", t0, &wait));  // each client its own bucket
  EXPECT_TRUE(limiter.Allow("a", t0 + absl::Seconds(10), &wait));
  EXPECT_FALSE(limiter.Allow("a", t0 + absl::Seconds(10), &wait));
  // A third client evicts the idlest bucket, so memory stays bounded.
  EXPECT_TRUE(limiter.Allow("c", t0 + absl::Seconds(11), &wait));
}

}  // namespace
}  // namespace dorset::console
