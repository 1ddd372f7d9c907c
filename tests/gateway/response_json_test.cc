// The response JSON memo: the same bytes give the same JSON as rendering them afresh, different
// bytes are never confused, bad bytes are refused and not kept, and the budget bounds it.
#include "gateway/response_json.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "dorset/gateway/testing/v1/shelf.pb.h"
#include "gateway/transcoder.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"

namespace dorset::gateway {
namespace {

const RouteTable& Table() {
  static const RouteTable* table = [] {
    auto built = RouteTable::Build(*google::protobuf::DescriptorPool::generated_pool(),
                                   {"dorset.gateway.testing.v1.ShelfService"});
    EXPECT_TRUE(built.ok()) << built.status();
    return new RouteTable(*std::move(built));
  }();
  return *table;
}

const Route& GetThing() {
  absl::StatusOr<RouteMatch> match = Table().Find("GET", "/v1/shelves/s1/things/t1");
  EXPECT_TRUE(match.ok()) << match.status();
  return *match->route;
}

std::string ThingBytes(const std::string& name, int64_t count) {
  testing::v1::Thing thing;
  thing.set_name(name);
  thing.set_display_name("A \"quoted\" name");
  thing.set_count(count);
  thing.add_labels("red");
  return thing.SerializeAsString();
}

TEST(ResponseJsonMemoTest, AKeptAnswerIsWhatRenderingAfreshGives) {
  ResponseJsonMemo memo;
  const Route& route = GetThing();
  const std::string bytes = ThingBytes("shelves/s1/things/t1", 3);
  absl::StatusOr<std::string> fresh = RenderResponse(route, bytes);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_EQ(*fresh,
            R"({"name":"shelves/s1/things/t1","displayName":"A \"quoted\" name","count":"3",)"
            R"("labels":["red"]})");
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<std::string> json = memo.Render(route, bytes);
    ASSERT_TRUE(json.ok()) << json.status();
    EXPECT_EQ(*json, *fresh);
  }
  EXPECT_EQ(memo.size(), 1u);
}

TEST(ResponseJsonMemoTest, DifferentBytesAreDifferentAnswers) {
  ResponseJsonMemo memo;
  const Route& route = GetThing();
  absl::StatusOr<std::string> three = memo.Render(route, ThingBytes("shelves/s1/things/t1", 3));
  absl::StatusOr<std::string> four = memo.Render(route, ThingBytes("shelves/s1/things/t1", 4));
  ASSERT_TRUE(three.ok() && four.ok());
  EXPECT_NE(*three, *four);
  EXPECT_NE(four->find(R"("count":"4")"), std::string::npos) << *four;
  EXPECT_EQ(memo.size(), 2u);
}

TEST(ResponseJsonMemoTest, BytesThatDoNotParseAreRefusedAndNotKept) {
  ResponseJsonMemo memo;
  const std::string garbage = "\xff\xff\xff\xff";
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<std::string> json = memo.Render(GetThing(), garbage);
    EXPECT_EQ(json.status().code(), absl::StatusCode::kInternal) << json.status();
  }
  EXPECT_EQ(memo.size(), 0u);
}

TEST(ResponseJsonMemoTest, TheBudgetBoundsWhatIsKept) {
  ResponseJsonMemo memo(/*budget_bytes=*/1000);
  const Route& route = GetThing();
  for (int i = 1; i <= 200; ++i) {  // from 1: a count of 0 is not printed
    absl::StatusOr<std::string> json = memo.Render(route, ThingBytes("shelves/s1/things/t1", i));
    ASSERT_TRUE(json.ok()) << json.status();
    EXPECT_NE(json->find(absl::StrCat(R"("count":")", i, R"(")")), std::string::npos) << *json;
  }
  // Each entry is ~130 bytes (key and JSON): never more than the budget's worth at once.
  EXPECT_LE(memo.size(), 1000u / 100);
  EXPECT_GE(memo.size(), 1u);
}

TEST(ResponseJsonMemoTest, LargeResponsesAreRenderedButNotKept) {
  ResponseJsonMemo memo;
  testing::v1::Thing thing;
  thing.set_name("shelves/s1/things/t1");
  thing.set_display_name(std::string(ResponseJsonMemo::kMaxEntryBytes, 'x'));
  absl::StatusOr<std::string> json = memo.Render(GetThing(), thing.SerializeAsString());
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_GT(json->size(), ResponseJsonMemo::kMaxEntryBytes);
  EXPECT_EQ(memo.size(), 0u);
}

}  // namespace
}  // namespace dorset::gateway
