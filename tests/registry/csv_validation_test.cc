// The CSV reader and the value checks the importers and handlers share.
#include "gtest/gtest.h"
#include "services/registry/csv_reader.h"
#include "services/registry/validation.h"

namespace dorset::registry {
namespace {

std::vector<std::pair<int, std::vector<std::string>>> ReadOk(std::string_view text,
                                                             std::vector<std::string>* errors) {
  CsvReader reader(text);
  CsvRecord record;
  std::string error;
  std::vector<std::pair<int, std::vector<std::string>>> out;
  while (true) {
    auto result = reader.Next(record, error);
    if (result == CsvReader::Result::kEnd) break;
    if (result == CsvReader::Result::kMalformed) {
      errors->push_back(std::to_string(record.line) + ": " + error);
      continue;
    }
    out.emplace_back(record.line, record.fields);
  }
  return out;
}

TEST(CsvReader, QuotedCommasDoubledQuotesAndLineBreaks) {
  std::vector<std::string> errors;
  auto records = ReadOk(
      "\"J81002\",\"FERNDOWN, WIMBORNE\",\"\"\r\n"
      "plain,\"say \"\"hi\"\"\",x\n"
      "\n"
      "\"two\nlines\",end\n"
      "last,row",
      &errors);
  EXPECT_TRUE(errors.empty());
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0].first, 1);
  EXPECT_EQ(records[0].second, (std::vector<std::string>{"J81002", "FERNDOWN, WIMBORNE", ""}));
  EXPECT_EQ(records[1].second[1], "say \"hi\"");
  EXPECT_EQ(records[2].first, 4);
  EXPECT_EQ(records[2].second[0], "two\nlines");
  EXPECT_EQ(records[3].first, 6);
  EXPECT_EQ(records[3].second, (std::vector<std::string>{"last", "row"}));
}

TEST(CsvReader, BadQuotesAreReportedWithTheirLineAndSkipped) {
  std::vector<std::string> errors;
  auto records = ReadOk("ok,1\n\"a\"b,2\nx\"y,3\nok,4\n\"never closed,5\n", &errors);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].first, 1);
  EXPECT_EQ(records[1].first, 4);
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0], "2: text after a closing quote in field 1");
  EXPECT_EQ(errors[1], "3: quote inside unquoted field 1");
  EXPECT_EQ(errors[2], "5: unterminated quoted field");
}

TEST(Validation, PracticeCodes) {
  EXPECT_TRUE(IsPracticeCode("J81016"));
  EXPECT_TRUE(IsPracticeCode("Y01262"));
  EXPECT_TRUE(IsPracticeCode("JER004"));
  for (const char* bad :
       {"", "J8101", "J810166", "j81016", "181016", "J8101X", "JE0004", "J81 16"}) {
    EXPECT_FALSE(IsPracticeCode(bad)) << bad;
  }
}

TEST(Validation, Postcodes) {
  EXPECT_EQ(NormalizePostcode("bh22 9hb"), "BH22 9HB");
  EXPECT_EQ(NormalizePostcode("BH229HB"), "BH22 9HB");
  EXPECT_EQ(NormalizePostcode("DT1 1AA"), "DT1 1AA");
  EXPECT_EQ(NormalizePostcode("W1A 0AX"), "W1A 0AX");
  EXPECT_EQ(NormalizePostcode("EC1A 1BB"), "EC1A 1BB");
  EXPECT_EQ(NormalizePostcode("M1 1AE"), "M1 1AE");
  for (const char* bad :
       {"", "BH22", "1H22 9HB", "BH22 9H1", "BH22-9HB", "BHH22 9HB", "BH22 99B"}) {
    EXPECT_FALSE(NormalizePostcode(bad).has_value()) << bad;
  }
  EXPECT_EQ(PostcodeKey("bh22 9hb"), "BH229HB");
}

TEST(Validation, Dates) {
  EXPECT_EQ(OdsDateToIso("19740401"), "1974-04-01");
  EXPECT_EQ(OdsDateToIso("20240229"), "2024-02-29");
  EXPECT_FALSE(OdsDateToIso("20230229"));
  EXPECT_FALSE(OdsDateToIso("20241301"));
  EXPECT_FALSE(OdsDateToIso("2024011"));
  EXPECT_FALSE(OdsDateToIso("2024-01-01"));
  EXPECT_TRUE(IsIsoDate("2025-05-31"));
  EXPECT_FALSE(IsIsoDate("2025-06-31"));
  EXPECT_FALSE(IsIsoDate("20250531"));
  EXPECT_EQ(DayMonthYearToIso("01JAN2021"), "2021-01-01");
  EXPECT_FALSE(DayMonthYearToIso("31FEB2021"));
  EXPECT_FALSE(DayMonthYearToIso("01XYZ2021"));
}

TEST(Validation, NamesSlugsAndResourceNames) {
  EXPECT_TRUE(IsGoodName("ORCHID HOUSE SURGERY"));
  EXPECT_FALSE(IsGoodName(""));
  EXPECT_FALSE(IsGoodName("   "));
  EXPECT_FALSE(IsGoodName(std::string(101, 'A')));
  EXPECT_TRUE(IsGoodName(std::string(100, 'A')));
  EXPECT_FALSE(IsGoodName("tab\there"));
  EXPECT_TRUE(IsSlug("weymouth-portland"));
  EXPECT_FALSE(IsSlug("-x"));
  EXPECT_FALSE(IsSlug("Poole"));
  EXPECT_EQ(IdFromName("practices/J81016", "practices"), "J81016");
  EXPECT_FALSE(IdFromName("practices/", "practices"));
  EXPECT_FALSE(IdFromName("localities/J81016", "practices"));
  EXPECT_FALSE(IdFromName("practices/J81016/x", "practices"));
}

}  // namespace
}  // namespace dorset::registry
