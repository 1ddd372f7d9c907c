// Pure helpers: resource names, the participation ratio and the synthetic generator's marking.
#include "services/engagement/domain/names.h"

#include "gtest/gtest.h"
#include "services/engagement/domain/counters.h"
#include "services/engagement/synthetic/synthetic_responses.h"

namespace dorset::engagement {
namespace {

TEST(NamesTest, ParsesAndRefusesResourceNames) {
  EXPECT_EQ(*ParseActivityName("activities/a-1", "name"), "a-1");
  EXPECT_FALSE(ParseActivityName("activities/A", "name").ok());
  EXPECT_FALSE(ParseActivityName("activities/a/themes/t", "name").ok());
  auto theme = ParseThemeName("activities/a/themes/t-2", "name");
  ASSERT_TRUE(theme.ok());
  EXPECT_EQ(theme->activity, "a");
  EXPECT_EQ(theme->id, "t-2");
  auto response = ParseResponseName("activities/a/responses/42", "name");
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->id, 42);
  EXPECT_FALSE(ParseResponseName("activities/a/responses/x", "name").ok());
  EXPECT_FALSE(ParseResponseName("activities/a/responses/0", "name").ok());
  EXPECT_EQ(*ParseActivitySingleton("activities/a/aggregates", "aggregates", "name"), "a");
  EXPECT_TRUE(IsFinanceSchemeName("plans/stp/programmes/x/schemes/y"));
  EXPECT_FALSE(IsFinanceSchemeName("plans/stp/schemes/y"));
  EXPECT_TRUE(IsPracticeName("practices/J81016"));
  EXPECT_TRUE(IsLocalityName("localities/poole-bay"));
  EXPECT_FALSE(IsLocalityName("localities/"));
  EXPECT_TRUE(IsValidId(NewId('s')));
}

TEST(PerThousandTest, IsExactFixedPointFromIntegers) {
  int64_t millis = -1;
  EXPECT_EQ(PerThousand(5, 2000, &millis), "2.500");
  EXPECT_EQ(millis, 2500);
  EXPECT_EQ(PerThousand(1, 3, &millis), "333.333");  // 333.333... rounded down
  EXPECT_EQ(PerThousand(0, 100, &millis), "0.000");
  EXPECT_EQ(PerThousand(2, 0, &millis), "");
  EXPECT_EQ(millis, 0);
  EXPECT_EQ(PerThousand(18500, 750000, &millis), "24.666");  // 24.6666...
}

TEST(SyntheticResponsesTest, EveryResponseIsMarkedAndDeterministic) {
  SyntheticOptions options{
      7, {"activities/a/themes/t1", "activities/a/themes/t2"}, {"localities/x", "localities/y"}};
  SyntheticResponses one(options), two(options);
  for (int i = 0; i < 200; ++i) {
    v1::Response a = one.Next(), b = two.Next();
    EXPECT_EQ(a.SerializeAsString(), b.SerializeAsString());
    EXPECT_EQ(a.text().rfind(kSyntheticMarker, 0), 0u) << a.text();
    EXPECT_NE(a.channel(), v1::CHANNEL_UNSPECIFIED);
    EXPECT_TRUE(a.stakeholder().empty());
  }
}

}  // namespace
}  // namespace dorset::engagement
