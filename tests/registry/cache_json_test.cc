// The v1 shared-cache JSON keeps the enum spellings v1 was published with, although the
// contracts now prefix every enum value with its type (docs/cache-keys.md), and the short enum
// names people read (runtime/api/enum_names.h).
#include "services/registry/client/cache_json.h"

#include "dorset/registry/v1/registry.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/api/enum_names.h"

namespace dorset::registry::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(CacheJsonTest, PracticeStatusKeepsItsV1Spelling) {
  v1::Practice practice;
  practice.set_name("practices/J81002");
  practice.set_ods_code("J81002");
  practice.set_status(v1::Practice::STATUS_CLOSED);
  const std::string json = cache_json::ToJson(practice);
  EXPECT_THAT(json, HasSubstr("\"status\":\"CLOSED\""));
  EXPECT_THAT(json, Not(HasSubstr("STATUS_CLOSED")));

  v1::Practice back;
  ASSERT_TRUE(cache_json::FromJson(json, back).ok()) << json;
  EXPECT_EQ(back.status(), v1::Practice::STATUS_CLOSED);
  EXPECT_EQ(back.ods_code(), "J81002");
}

TEST(CacheJsonTest, ReadsBothSpellingsAndAnyWhitespace) {
  for (const std::string json : {"{\"odsCode\":\"J81002\",\"status\":\"DORMANT\"}",
                                 "{ \"odsCode\" : \"J81002\" , \"status\" :\n \"DORMANT\" }",
                                 "{\"odsCode\":\"J81002\",\"status\":\"STATUS_DORMANT\"}"}) {
    v1::Practice practice;
    ASSERT_TRUE(cache_json::FromJson(json, practice).ok()) << json;
    EXPECT_EQ(practice.status(), v1::Practice::STATUS_DORMANT) << json;
  }
}

TEST(CacheJsonTest, StringContentThatLooksLikeAnEnumIsNotTouched) {
  v1::Practice practice;
  practice.set_display_name("\"status\":\"STATUS_ACTIVE\" \\\"status\\\":\"STATUS_CLOSED\"");
  practice.add_address_lines("status");
  practice.add_address_lines("STATUS_ACTIVE");
  practice.set_status(v1::Practice::STATUS_PROPOSED);
  const std::string json = cache_json::ToJson(practice);
  v1::Practice back;
  ASSERT_TRUE(cache_json::FromJson(json, back).ok()) << json;
  EXPECT_EQ(back.display_name(), practice.display_name());
  EXPECT_EQ(back.address_lines(1), "STATUS_ACTIVE");
  EXPECT_THAT(json, HasSubstr("\"status\":\"PROPOSED\""));
}

TEST(CacheJsonTest, NestedAndChangeMessagesUseTheV1Names) {
  v1::AreaSummary summary;
  auto* count = summary.add_practices_by_status();
  count->set_status(v1::Practice::STATUS_ACTIVE);
  count->set_count(3);
  summary.add_practices_by_status()->set_status(v1::Practice::STATUS_CLOSED);
  const std::string json = cache_json::ToJson(summary);
  EXPECT_THAT(json, HasSubstr("{\"status\":\"ACTIVE\",\"count\":3}"));
  EXPECT_THAT(json, HasSubstr("{\"status\":\"CLOSED\"}"));
  v1::AreaSummary back;
  ASSERT_TRUE(cache_json::FromJson(json, back).ok()) << json;
  EXPECT_EQ(back.practices_by_status(1).status(), v1::Practice::STATUS_CLOSED);

  v1::ListChangesResponse changes;
  auto* change = changes.add_changes();
  change->set_kind(v1::Change::KIND_PRACTICE_REOPENED);
  change->set_resource("practices/J81002");
  EXPECT_THAT(cache_json::ToJson(changes), HasSubstr("\"kind\":\"PRACTICE_REOPENED\""));
}

// Every message the registry puts in the shared cache or on the changes channel: an enum added
// to one of them needs its v1 table before it can reach a reader.
TEST(CacheJsonTest, EveryCachedMessageHasATableForEachOfItsEnums) {
  for (const google::protobuf::Descriptor* type :
       {v1::Practice::descriptor(), v1::Locality::descriptor(), v1::Cluster::descriptor(),
        v1::ListLocalitiesResponse::descriptor(), v1::ListClustersResponse::descriptor(),
        v1::AreaSummary::descriptor()}) {
    std::string missing;
    EXPECT_TRUE(cache_json::CoversEveryEnum(*type, &missing))
        << type->full_name() << ": " << missing;
  }
  // The change messages carry no resource state, but Change's oneof holds the resources.
  std::string missing;
  EXPECT_TRUE(cache_json::CoversEveryEnum(*v1::ListChangesResponse::descriptor(), &missing))
      << missing;
  // And the check can fail: ImportReport's enums are not cached and have no table.
  EXPECT_FALSE(cache_json::CoversEveryEnum(*v1::ImportReport::descriptor(), &missing));
  EXPECT_FALSE(missing.empty());
}

TEST(EnumNamesTest, ShortNamesDropTheTypePrefix) {
  EXPECT_EQ(runtime::EnumShortName(v1::Practice::STATUS_ACTIVE), "ACTIVE");
  EXPECT_EQ(runtime::EnumShortName(v1::IMPORT_KIND_LIST_SIZES), "LIST_SIZES");
  EXPECT_EQ(runtime::EnumShortName(v1::ImportReport::Mismatch::KIND_ACTIVE_WITHOUT_LIST_SIZE),
            "ACTIVE_WITHOUT_LIST_SIZE");
  EXPECT_EQ(runtime::EnumShortName(v1::Practice::STATUS_UNSPECIFIED), "STATUS_UNSPECIFIED");
  EXPECT_EQ(runtime::EnumShortName(static_cast<v1::Practice::Status>(42)), "42");
  EXPECT_EQ(runtime::EnumValuePrefix(*v1::Change::Kind_descriptor()), "KIND_");
}

}  // namespace
}  // namespace dorset::registry::testing
