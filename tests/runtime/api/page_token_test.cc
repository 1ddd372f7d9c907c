#include "runtime/api/page_token.h"

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

TEST(PageSizeTest, DefaultsClampsAndRefusesNegative) {
  EXPECT_EQ(*EffectivePageSize(0, 50, 1000), 50);
  EXPECT_EQ(*EffectivePageSize(5000, 50, 1000), 1000);
  EXPECT_EQ(*EffectivePageSize(7, 50, 1000), 7);
  EXPECT_EQ(EffectivePageSize(-1, 50, 1000).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dorset::runtime
