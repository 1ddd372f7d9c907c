// dorset-loadgen's requests (bench/loadgen/request_maker.h): a template kept as a message with
// its placeholders filled per call gives exactly the request the JSON template rendered and
// parsed gives, for every kind of place a placeholder can sit.
#include "bench/loadgen/request_maker.h"

#include <regex>
#include <set>
#include <string>

#include "gtest/gtest.h"

namespace dorset::bench {
namespace {

constexpr char kPosting[] = "/dorset.finance.v1.FinanceService/CreatePosting";
constexpr char kResponse[] = "/dorset.engagement.v1.EngagementService/CreateResponse";

void ExpectSameAsJson(const RequestMaker& maker) {
  for (uint64_t seq : {0ull, 1ull, 7ull, 12345678901ull}) {
    for (int slot : {0, 3, 63}) {
      absl::StatusOr<std::string> json = maker.MakeFromJson(seq, slot);
      ASSERT_TRUE(json.ok()) << json.status();
      EXPECT_EQ(maker.Make(seq, slot), *json) << "seq " << seq << " slot " << slot;
    }
  }
}

// {{uuid}}: what real clients' request ids look like (bench/lib/common.sh's
// DORSET_BENCH_REQUEST_IDS=uuid), unique per call and scattered over the key order, where
// {{seq}} gives keys that arrive in increasing order and always land on the index's last page.
TEST(RequestMakerTest, AUuidPlaceholderGivesEachCallAUniqueScatteredUuid) {
  absl::StatusOr<RequestMaker> maker = RequestMaker::Create(
      kPosting, R"({"requestId":"w-{{uuid}}","posting":{"scheme":"plans/p/programmes/g/schemes/s",)"
                R"("financialYear":"2020-21","month":6,"kind":2,"amount":{"pence":"1"}}})");
  ASSERT_TRUE(maker.ok()) << maker.status();
  EXPECT_FALSE(maker->ParsesPerCall());
  ExpectSameAsJson(*maker);
  EXPECT_NE(maker->Make(1, 0).find("w-" + UuidOfSeq(1)), std::string::npos);
  EXPECT_EQ(UuidOfSeq(42), UuidOfSeq(42));

  const std::regex shape("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> seen;
  int rising = 0;
  constexpr int kCalls = 10000;
  for (uint64_t seq = 0; seq < kCalls; ++seq) {
    const std::string uuid = UuidOfSeq(seq);
    EXPECT_TRUE(std::regex_match(uuid, shape)) << uuid;
    seen.insert(uuid);
    if (uuid < UuidOfSeq(seq + 1)) ++rising;
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(kCalls));
  // Scattered: a consecutive pair is in key order about half the time (always, for {{seq}}).
  EXPECT_GT(rising, kCalls * 4 / 10);
  EXPECT_LT(rising, kCalls * 6 / 10);
}

TEST(RequestMakerTest, PlaceholdersInNestedAndRepeatedStringsAreFilledPerCall) {
  // As bench/mixed_bench.sh sends: {{seq}} twice (top level, nested), {{slot}} in a nested
  // string, a repeated string without a placeholder beside them.
  absl::StatusOr<RequestMaker> maker = RequestMaker::Create(
      kResponse,
      R"({"parent":"activities/mixed","requestId":"mixed-{{seq}}","response":{)"
      R"("channel":"CHANNEL_ONLINE","sentiment":"SENTIMENT_OPPOSED",)"
      R"("text":"[SYNTHETIC] mixed response {{seq}} of {{slot}}",)"
      R"("themes":["activities/mixed/themes/access","activities/mixed/themes/t-{{slot}}"],)"
      R"("locality":"localities/mixed-{{slot}}"}})");
  ASSERT_TRUE(maker.ok()) << maker.status();
  EXPECT_FALSE(maker->ParsesPerCall());
  ExpectSameAsJson(*maker);
  // Calls differ where their placeholders do, and only there.
  EXPECT_NE(maker->Make(1, 0), maker->Make(2, 0));
  EXPECT_NE(maker->Make(1, 0), maker->Make(1, 1));
  EXPECT_EQ(maker->Make(5, 2), maker->Make(5, 2));
}

TEST(RequestMakerTest, APlaceholderOutsideAStringIsRenderedAndParsedPerCall) {
  // An unquoted {{slot}} in a number's place: the template does not parse as JSON by itself.
  absl::StatusOr<RequestMaker> maker = RequestMaker::Create(
      kPosting, R"({"requestId":"w-{{seq}}","posting":{"scheme":"plans/p/programmes/g/schemes/s",)"
                R"("financialYear":"2020-21","month":{{slot}},"kind":2,"amount":{"pence":"1"}}})");
  ASSERT_TRUE(maker.ok()) << maker.status();
  EXPECT_TRUE(maker->ParsesPerCall());
  ExpectSameAsJson(*maker);
  EXPECT_NE(maker->Make(1, 3), maker->Make(1, 4));
}

TEST(RequestMakerTest, APlaceholderInAQuotedNumberIsRenderedAndParsedPerCall) {
  // "{{seq}}" where an int64 (as a JSON string) goes: not a string field, so not a hole.
  absl::StatusOr<RequestMaker> maker = RequestMaker::Create(
      kPosting, R"({"requestId":"w-{{seq}}","posting":{"scheme":"plans/p/programmes/g/schemes/s",)"
                R"("financialYear":"2020-21","month":6,"kind":2,"amount":{"pence":"{{seq}}"}}})");
  ASSERT_TRUE(maker.ok()) << maker.status();
  EXPECT_TRUE(maker->ParsesPerCall());
  ExpectSameAsJson(*maker);
}

TEST(RequestMakerTest, AFixedRequestIsTheSameEveryCallAndBadInputIsRefused) {
  absl::StatusOr<RequestMaker> fixed =
      RequestMaker::Create(kResponse, R"({"parent":"activities/a"})");
  ASSERT_TRUE(fixed.ok()) << fixed.status();
  EXPECT_FALSE(fixed->ParsesPerCall());
  ExpectSameAsJson(*fixed);
  EXPECT_EQ(fixed->Make(1, 0), fixed->Make(2, 9));
  EXPECT_EQ(RequestMaker::Create("/no.such.Service/Method", "{}").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(RequestMaker::Create(kResponse, R"({"noSuchField":"{{seq}}"})").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dorset::bench
