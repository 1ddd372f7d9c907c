// FHIR search parameters -> ListPracticesRequest, and FHIR date ranges
// (gateway/fhir/search_query.h).
#include "gateway/fhir/search_query.h"

#include "absl/time/civil_time.h"
#include "gateway/fhir/organization_map.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"

namespace dorset::gateway::fhir {
namespace {

absl::Time Utc(int y, int m, int d, int hh = 0, int mm = 0, int ss = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, ss), absl::UTCTimeZone());
}

TEST(FhirDate, PrecisionGivesTheRange) {
  auto year = ParseFhirDate("2025");
  ASSERT_TRUE(year);
  EXPECT_EQ(year->start, Utc(2025, 1, 1));
  EXPECT_EQ(year->end, Utc(2026, 1, 1));
  auto month = ParseFhirDate("2024-02");
  ASSERT_TRUE(month);
  EXPECT_EQ(month->end, Utc(2024, 3, 1));
  auto day = ParseFhirDate("2025-06-01");
  ASSERT_TRUE(day);
  EXPECT_EQ(day->end - day->start, absl::Hours(24));
  auto second = ParseFhirDate("2025-06-01T10:00:00+01:00");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->start, Utc(2025, 6, 1, 9));
  EXPECT_EQ(second->end - second->start, absl::Seconds(1));
  auto unencoded_plus = ParseFhirDate("2025-06-01T10:00:00 01:00");  // '+' read as a space
  ASSERT_TRUE(unencoded_plus);
  EXPECT_EQ(unencoded_plus->start, second->start);
  auto fraction = ParseFhirDate("2025-06-01T10:00:00.25Z");
  ASSERT_TRUE(fraction);
  EXPECT_EQ(fraction->start, Utc(2025, 6, 1, 10) + absl::Milliseconds(250));
  EXPECT_EQ(fraction->end - fraction->start, absl::Milliseconds(10));
  for (const char* bad :
       {"", "25", "2025-1", "2025-13", "2025-02-30", "2025-06-01T25:00Z", "2025-06-01T10",
        "2025-06-01T10:00:00.Z", "2025-06-01x", "yesterday", "2025-06-01T10:00:00+15:00"}) {
    EXPECT_FALSE(ParseFhirDate(bad)) << bad;
  }
}

TEST(FhirSearch, ParametersBecomeRegistryFilters) {
  auto search = ParseSearch({{"name", "orchid"},
                             {"address-postalcode", "BH22"},
                             {"active", "false"},
                             {"type", "RO76"},
                             {"partof", "Organization/locality-poole-bay"},
                             {"_lastUpdated", "ge2025-01-01"},
                             {"_lastUpdated", "lt2025-02"},
                             {"_sort", "-name"},
                             {"_count", "5000"}},
                            false);
  ASSERT_TRUE(search.ok()) << search.status();
  const auto& list = search->list;
  EXPECT_EQ(list.name_prefix(), "orchid");
  EXPECT_EQ(list.postcode_prefix(), "BH22");
  EXPECT_EQ(list.statuses_size(), 3);  // closed, dormant, proposed
  EXPECT_EQ(list.prescribing_setting(), 4);
  EXPECT_EQ(list.locality(), "localities/poole-bay");
  EXPECT_EQ(list.order_by(), "display_name desc");
  EXPECT_EQ(list.page_size(), kMaxCount);
  using google::protobuf::util::TimeUtil;
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(list.update_time_since()),
            absl::ToUnixMicros(Utc(2025, 1, 1)));
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(list.update_time_before()),
            absl::ToUnixMicros(Utc(2025, 2, 1)));  // lt 2025-02: before February starts
}

TEST(FhirSearch, UnknownParametersAreRefusedUnlessLenient) {
  auto strict = ParseSearch({{"foo", "bar"}}, false);
  EXPECT_TRUE(absl::IsUnimplemented(strict.status())) << strict.status();
  auto lenient = ParseSearch({{"foo", "bar"}, {"name:exact", "x"}, {"name", "a"}}, true);
  ASSERT_TRUE(lenient.ok()) << lenient.status();
  ASSERT_EQ(lenient->used.size(), 1u);
  EXPECT_EQ(lenient->used[0].first, "name");
  // A bad value of a supported parameter is refused even when lenient.
  EXPECT_TRUE(absl::IsInvalidArgument(ParseSearch({{"_count", "x"}}, true).status()));
}

TEST(FhirSearch, CountSummaryAndTypes) {
  auto zero = ParseSearch({{"_count", "0"}}, false);
  ASSERT_TRUE(zero.ok());
  EXPECT_TRUE(zero->count_zero);
  auto summary = ParseSearch({{"_summary", "count"}}, false);
  ASSERT_TRUE(summary.ok());
  EXPECT_TRUE(summary->summary_count);
  EXPECT_EQ(summary->list.page_size(), kDefaultCount);
  for (const char* bad : {"-1", "1.5", "abc", "99999999999999"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(ParseSearch({{"_count", bad}}, false).status())) << bad;
  }
  auto setting = ParseSearch({{"type", std::string(kPrescribingSettingSystem) + "|27"}}, false);
  ASSERT_TRUE(setting.ok());
  EXPECT_EQ(setting->list.prescribing_setting(), 27);
  auto every = ParseSearch({{"type", "RO177"}}, false);
  ASSERT_TRUE(every.ok());
  EXPECT_FALSE(every->list.has_prescribing_setting());
  EXPECT_FALSE(every->matches_nothing);
  auto none = ParseSearch({{"type", "RO98"}}, false);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->matches_nothing);
  EXPECT_TRUE(absl::IsUnimplemented(ParseSearch({{"type", "RO76,RO177"}}, false).status()));
  EXPECT_TRUE(absl::IsUnimplemented(ParseSearch({{"partof", "11J"}}, false).status()));
  EXPECT_TRUE(absl::IsUnimplemented(ParseSearch({{"name", "a"}, {"name", "b"}}, false).status()));
}

}  // namespace
}  // namespace dorset::gateway::fhir
