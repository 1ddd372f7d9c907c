// The one etag format (runtime/storage/etag.h): W/"<revision>", parsed strictly, stale ABORTED.
#include "runtime/storage/etag.h"

#include "gtest/gtest.h"

namespace dorset::runtime::storage {
namespace {

TEST(EtagTest, IsTheHttpWeakValidatorOfTheRevision) {
  EXPECT_EQ(Etag(7), "W/\"7\"");
  EXPECT_EQ(Etag(9223372036854775807), "W/\"9223372036854775807\"");
  absl::StatusOr<int64_t> parsed = ParseEtag(Etag(42));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, 42);
}

TEST(EtagTest, OtherSpellingsAreInvalidArgumentNamingTheField) {
  for (const char* bad :
       {"r7", "7", "W/7", "\"7\"", "W/\"\"", "W/\"0\"", "W/\"-1\"", "W/\"+7\"", "W/\" 7\"",
        "W/\"07\"", "W/\"7x\"", "W/\"99999999999999999999\"", "w/\"7\"", "W/\"7\" "}) {
    absl::StatusOr<int64_t> parsed = ParseEtag(bad, "practice.etag");
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(parsed.status().message().find("practice.etag"), std::string::npos)
        << parsed.status();
    EXPECT_EQ(CheckEtag(bad, 7, "Practice", "practices/J81016", "practice.etag").code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(EtagTest, EmptyIsUnconditionalCurrentPassesStaleIsAborted) {
  EXPECT_TRUE(CheckEtag("", 3, "Scheme", "plans/p/programmes/q/schemes/s").ok());
  EXPECT_TRUE(CheckEtag(Etag(3), 3, "Scheme", "plans/p/programmes/q/schemes/s").ok());
  const absl::Status stale = CheckEtag(Etag(2), 3, "Scheme", "plans/p/programmes/q/schemes/s");
  EXPECT_EQ(stale.code(), absl::StatusCode::kAborted) << stale;
  EXPECT_NE(stale.message().find("plans/p/programmes/q/schemes/s"), std::string::npos) << stale;
  EXPECT_EQ(CheckEtag(Etag(4), 3, "Scheme", "s").code(), absl::StatusCode::kAborted);
}

}  // namespace
}  // namespace dorset::runtime::storage
