#include "runtime/api/page_token.h"

#include <fstream>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "runtime/testing/temp_dir.h"

namespace dorset::runtime {
namespace {

TEST(PageTokenTest, RoundTripsAndSurvivesRestartWithTheSameKey) {
  dorset::testing::TempDir dir;
  auto codec = PageTokenCodec::ForDataDir(dir.path());
  ASSERT_TRUE(codec.ok());
  const std::string token = codec->Encode("locality=poole-central|order=name", "J81016");
  auto again = PageTokenCodec::ForDataDir(dir.path());  // a restarted server
  auto position = again->Decode("locality=poole-central|order=name", token);
  ASSERT_TRUE(position.ok()) << position.status();
  EXPECT_EQ(*position, "J81016");
}

TEST(PageTokenTest, ASharedKeyFileLetsEveryReplicaReadTheOthersTokens) {
  dorset::testing::TempDir a, b, secret;
  { std::ofstream(secret.File("key")) << "c2hhcmVkIGJ5IGV2ZXJ5IHJlcGxpY2Egb2YgdGhlIHNlcnZpY2U=\n"; }
  auto on_a = PageTokenCodec::Load(secret.File("key"), a.path());
  auto on_b = PageTokenCodec::Load(secret.File("key"), b.path());
  ASSERT_TRUE(on_a.ok()) << on_a.status();
  ASSERT_TRUE(on_b.ok()) << on_b.status();
  auto position = on_b->Decode("q", on_a->Encode("q", "J81016"));
  ASSERT_TRUE(position.ok()) << position.status();
  EXPECT_EQ(*position, "J81016");
  // Without the file each replica has a key of its own: the other's tokens are refused.
  auto own_a = PageTokenCodec::Load("", a.path());
  auto own_b = PageTokenCodec::Load("", b.path());
  ASSERT_TRUE(own_a.ok() && own_b.ok());
  EXPECT_FALSE(own_b->Decode("q", own_a->Encode("q", "J81016")).ok());
  // A short key or an unreadable file is refused naming the setting, without its contents.
  { std::ofstream(secret.File("short")) << "tooshort\n"; }
  auto short_key = PageTokenCodec::Load(secret.File("short"), a.path());
  EXPECT_EQ(short_key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(short_key.status().ToString().find("tooshort"), std::string::npos);
  EXPECT_EQ(PageTokenCodec::Load(secret.File("none"), a.path()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PageTokenTest, RefusesTokensForAnotherQuery) {
  PageTokenCodec codec(std::string(32, 'k'));
  const std::string token = codec.Encode("locality=purbeck", "J81016");
  auto widened = codec.Decode("locality=", token);
  EXPECT_EQ(widened.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(widened.status().GetPayload("type.googleapis.com/google.rpc.BadRequest").has_value());
}

TEST(PageTokenTest, RefusesForgedOrAlteredTokens) {
  PageTokenCodec codec(std::string(32, 'k'));
  const std::string token = codec.Encode("q", "J81016");
  std::string raw;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(token, &raw));
  raw.back() = '0';  // move the cursor
  EXPECT_FALSE(codec.Decode("q", absl::WebSafeBase64Escape(raw)).ok());
  EXPECT_FALSE(codec.Decode("q", "not base64 !!").ok());
  EXPECT_FALSE(codec.Decode("q", "").ok());
  PageTokenCodec other(std::string(32, 'x'));
  EXPECT_FALSE(other.Decode("q", token).ok());  // another deployment's key
}

// Tokens are HMAC-SHA256 (truncated to 16 bytes) of "<len>:<position>|<fingerprint>", then the
// position, web-safe base64: these were computed with Python's hmac module, so a token issued by
// any earlier release (OpenSSL's one-shot HMAC) still verifies, whatever the key's length.
TEST(PageTokenTest, TokensAreTheDocumentedHmacForKeysOfEveryLength) {
  PageTokenCodec k32(std::string(32, 'k'));
  EXPECT_EQ(k32.Encode("locality=purbeck", "J81016"), "wzGepJcD_YMii1nC6Rav60o4MTAxNg");
  PageTokenCodec k100(std::string(100, 'x'));  // longer than a block: hashed first
  EXPECT_EQ(k100.Encode("q", "J81016"), "0sbWsM18vUq0AAuV1XQVvEo4MTAxNg");
  PageTokenCodec k64(std::string(64, 'y'));
  EXPECT_EQ(k64.Encode("", ""), "4T8ztEOXSJGrakQyWRTJLA");
  auto position = k100.Decode("q", "0sbWsM18vUq0AAuV1XQVvEo4MTAxNg");
  ASSERT_TRUE(position.ok()) << position.status();
  EXPECT_EQ(*position, "J81016");
  // A copy of a codec (services keep one by value) signs the same.
  PageTokenCodec copy = k32;
  EXPECT_EQ(copy.Encode("locality=purbeck", "J81016"), "wzGepJcD_YMii1nC6Rav60o4MTAxNg");
}

TEST(PageSizeTest, DefaultsClampsAndRefusesNegative) {
  EXPECT_EQ(*EffectivePageSize(0, 50, 1000), 50);
  EXPECT_EQ(*EffectivePageSize(5000, 50, 1000), 1000);
  EXPECT_EQ(*EffectivePageSize(7, 50, 1000), 7);
  EXPECT_EQ(EffectivePageSize(-1, 50, 1000).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dorset::runtime
