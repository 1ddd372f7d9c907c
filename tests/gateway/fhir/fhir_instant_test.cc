// FhirInstant (gateway/fhir/organization_map.h) writes the registry's times itself: the text
// must be absl::FormatTime's "%Y-%m-%dT%H:%M:%E*SZ" for every time, written directly or not.
#include <cstdint>
#include <random>

#include "absl/time/time.h"
#include "gateway/fhir/organization_map.h"
#include "gtest/gtest.h"

namespace dorset::gateway::fhir {
namespace {

std::string Reference(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", time, absl::UTCTimeZone());
}

TEST(FhirInstantTest, IsFormatTimesTextForEveryTime) {
  const int64_t kEdges[] = {0,
                            1,
                            -1,
                            1764547200123456,    // 2025-12-01, microseconds
                            1764547200120000,    // trailing zeros trimmed
                            1764547200000000,    // no fraction
                            951782400000000,     // 2000-02-29
                            -2208988800000001,   // 1899-12-31, negative micros
                            -30610224000000000,  // 1000-01-01, the first written directly
                            -30610224000000001,  // just before: FormatTime's
                            253402300799999999,  // 9999-12-31T23:59:59.999999
                            253402300800000000,  // 10000-01-01: FormatTime's
                            -62135596800000000,  // 0001-01-01
                            4102444800000000};   // 2100-01-01 (not a leap year)
  for (int64_t micros : kEdges) {
    const absl::Time time = absl::FromUnixMicros(micros);
    EXPECT_EQ(FhirInstant(time), Reference(time)) << micros;
  }
  std::mt19937_64 random(14);
  for (int i = 0; i < 200000; ++i) {
    // Any microsecond from 1000 to 9999, and a few below or above.
    const int64_t micros =
        static_cast<int64_t>(random() % 290000000000000000ULL) - 32000000000000000LL;
    const absl::Time time = absl::FromUnixMicros(micros);
    ASSERT_EQ(FhirInstant(time), Reference(time)) << micros;
  }
  // Finer than a microsecond: FormatTime's digits.
  const absl::Time fine = absl::FromUnixNanos(1764547200123456789);
  EXPECT_EQ(FhirInstant(fine), Reference(fine));
  EXPECT_EQ(FhirInstant(absl::InfiniteFuture()), Reference(absl::InfiniteFuture()));
}

}  // namespace
}  // namespace dorset::gateway::fhir
