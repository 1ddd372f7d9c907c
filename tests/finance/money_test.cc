// The money library: strict parsing into pence, checked arithmetic, formatting, rounding.
#include "services/finance/money/money.h"

#include <limits>

#include "gtest/gtest.h"

namespace dorset::finance::money {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

TEST(ParsePounds, AcceptsPlainGroupedSignedAndSymbol) {
  EXPECT_EQ(*ParsePounds("1234.56"), 123456);
  EXPECT_EQ(*ParsePounds("\xC2\xA3"
                         "1,234.56"),
            123456);
  EXPECT_EQ(*ParsePounds("-\xC2\xA3"
                         "16,000,000"),
            -1600000000);
  EXPECT_EQ(*ParsePounds("\xC2\xA3-0.05"), -5);
  EXPECT_EQ(*ParsePounds("0.5"), 50);
  EXPECT_EQ(*ParsePounds("7"), 700);
  EXPECT_EQ(*ParsePounds("229,000,000"), 22900000000);
}

TEST(ParsePounds, RefusesFractionalPenceAsInvalidArgument) {
  absl::StatusOr<int64_t> parsed = ParsePounds("1.234");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(parsed.status().message().find("fraction of a penny"), absl::string_view::npos);
  EXPECT_FALSE(ParsePounds("0.001").ok());
  EXPECT_FALSE(ParsePounds("1.230").ok());  // even a zero third decimal is not two decimals
}

TEST(ParsePounds, RefusesMalformedText) {
  for (const char* bad : {"", "-", "\xC2\xA3", "1.", ".5", "1,23.00", "12,34", "1,2345", ",123",
                          "1e5", "1 234", "+5", "--5", "12.3.4", "0x10", "1,234,56"}) {
    absl::StatusOr<int64_t> parsed = ParsePounds(bad);
    EXPECT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(ParsePounds, RangeEndsAndOverflow) {
  EXPECT_EQ(*ParsePounds("92233720368547758.07"), kMax);
  EXPECT_EQ(*ParsePounds("-92233720368547758.08"), kMin);
  EXPECT_EQ(ParsePounds("92233720368547758.08").status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(ParsePounds("-92233720368547758.09").status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(ParsePounds("99999999999999999999").status().code(), absl::StatusCode::kOutOfRange);
}

TEST(CheckedArithmetic, RefusesOverflowAndKeepsExactResults) {
  EXPECT_EQ(*CheckedAdd(kMax - 1, 1), kMax);
  EXPECT_EQ(CheckedAdd(kMax, 1).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(CheckedAdd(kMin, -1).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(*CheckedSub(0, kMax), -kMax);
  EXPECT_EQ(CheckedSub(kMin, 1).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(CheckedNeg(kMin).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(*CheckedMul(229, 100000000), 22900000000);
  EXPECT_EQ(CheckedMul(kMax / 2 + 1, 2).status().code(), absl::StatusCode::kOutOfRange);
  const int64_t parts[] = {kMax, 1, -2};
  EXPECT_FALSE(CheckedSum(parts).ok());  // overflow in the middle is caught, not hidden
  EXPECT_EQ(*Pounds(1200000000), 120000000000);
}

TEST(FormatPounds, TwoDecimalsAlways) {
  EXPECT_EQ(FormatPounds(123456), "1234.56");
  EXPECT_EQ(FormatPounds(-5), "-0.05");
  EXPECT_EQ(FormatPounds(0), "0.00");
  EXPECT_EQ(FormatPounds(22900000000, {.symbol = true, .grouping = true}),
            "\xC2\xA3"
            "229,000,000.00");
  EXPECT_EQ(FormatPounds(-1600000000, {.symbol = true, .grouping = true}),
            "-\xC2\xA3"
            "16,000,000.00");
  EXPECT_EQ(FormatPounds(kMin), "-92233720368547758.08");
  EXPECT_EQ(FormatPounds(kMax, {.grouping = true}), "92,233,720,368,547,758.07");
}

TEST(FormatPounds, RoundTripsThroughParse) {
  for (int64_t pence : {int64_t{0}, int64_t{1}, int64_t{-1}, int64_t{99}, int64_t{100},
                        int64_t{123456789}, kMax, kMin}) {
    EXPECT_EQ(*ParsePounds(FormatPounds(pence)), pence);
    EXPECT_EQ(*ParsePounds(FormatPounds(pence, {.symbol = true, .grouping = true})), pence);
  }
}

TEST(DivideHalfEven, RoundsTiesToEven) {
  EXPECT_EQ(*DivideHalfEven(5, 2), 2);    // 2.5 -> 2
  EXPECT_EQ(*DivideHalfEven(7, 2), 4);    // 3.5 -> 4
  EXPECT_EQ(*DivideHalfEven(-5, 2), -2);  // -2.5 -> -2
  EXPECT_EQ(*DivideHalfEven(-7, 2), -4);
  EXPECT_EQ(*DivideHalfEven(10, 3), 3);
  EXPECT_EQ(*DivideHalfEven(11, 3), 4);
  EXPECT_EQ(*DivideHalfEven(-11, 3), -4);
  EXPECT_EQ(DivideHalfEven(1, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DivideHalfEven(static_cast<__int128>(kMax) * 4, 2).status().code(),
            absl::StatusCode::kOutOfRange);
}

}  // namespace
}  // namespace dorset::finance::money
