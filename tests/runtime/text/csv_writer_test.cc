// The shared CSV writer: RFC 4180 quoting, CRLF, the byte order mark, ISO 8601 times and cells
// neutralised against CSV injection.
#include "runtime/text/csv_writer.h"

#include "gtest/gtest.h"

namespace dorset::runtime {
namespace {

TEST(CsvWriterTest, RowsEndWithCrlfAndQuoteOnlyWhenNeeded) {
  CsvWriter csv;
  csv.Row({"name", "note"});
  csv.Text("Weymouth & Portland").Text("said \"no\", twice").EndRow();
  csv.Text("line\nbreak").Text("cr\rinside").EndRow();
  csv.Text(" padded ").Text("").EndRow();
  EXPECT_EQ(csv.rows(), 4);
  EXPECT_EQ(csv.Take(),
            "name,note\r\n"
            "Weymouth & Portland,\"said \"\"no\"\", twice\"\r\n"
            "\"line\nbreak\",\"cr\rinside\"\r\n"
            "\" padded \",\r\n");
  EXPECT_EQ(csv.Take(), "");
}

TEST(CsvWriterTest, DecimalNumbersStayNumbersAndAnythingElseIsText) {
  CsvWriter csv;
  csv.Number("-1234.50")
      .Number("0.07")
      .Number("12")
      .Number("-=1+1")
      .Number("-")
      .Number("1.")
      .EndRow();
  EXPECT_EQ(csv.Take(), "-1234.50,0.07,12,'-=1+1,'-,1.\r\n");
}

TEST(CsvWriterTest, ByteOrderMarkOnlyWhenAsked) {
  CsvWriter with({.byte_order_mark = true});
  with.Row({"a"});
  EXPECT_EQ(with.Take(),
            "\xEF\xBB\xBF"
            "a\r\n");
  CsvWriter without;
  without.Row({"a"});
  EXPECT_EQ(without.Take(), "a\r\n");
}

TEST(CsvWriterTest, FormulaCellsAreNeutralised) {
  EXPECT_EQ(CsvWriter::Cell("=HYPERLINK(\"http://x\",\"y\")"),
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
  EXPECT_EQ(CsvWriter::Cell("+44 1202 541400"), "'+44 1202 541400");
  EXPECT_EQ(CsvWriter::Cell("-2+3+cmd|' /C calc'!A0"), "'-2+3+cmd|' /C calc'!A0");
  EXPECT_EQ(CsvWriter::Cell("@SUM(A1:A9)"), "'@SUM(A1:A9)");
  EXPECT_EQ(CsvWriter::Cell("\t=1+1"), "'\t=1+1");
  EXPECT_EQ(CsvWriter::Cell("\r=1+1"), "\"'\r=1+1\"");
  // Only the first character matters; ordinary text is untouched.
  EXPECT_EQ(CsvWriter::Cell("a=b"), "a=b");
  EXPECT_EQ(CsvWriter::Cell("Dorset"), "Dorset");
  EXPECT_EQ(CsvWriter::Cell("'quoted"), "'quoted");
}

TEST(CsvWriterTest, NumbersAreNotNeutralised) {
  CsvWriter csv;
  csv.Int(-1250).Int(0).Int(229000000).EndRow();
  EXPECT_EQ(csv.Take(), "-1250,0,229000000\r\n");
}

TEST(CsvWriterTest, TimesAreIso8601Utc) {
  CsvWriter csv;
  csv.Time(absl::FromUnixSeconds(1480550400)).Time(absl::InfinitePast()).Text("x").EndRow();
  EXPECT_EQ(csv.Take(), "2016-12-01T00:00:00Z,,x\r\n");
}

TEST(CsvWriterTest, TakeHandsOverWholeRowsForStreaming) {
  CsvWriter csv({.byte_order_mark = true});
  csv.Row({"h"});
  std::string first = csv.Take();
  csv.Row({"r1"});
  csv.Row({"r2"});
  EXPECT_EQ(first + csv.Take(),
            "\xEF\xBB\xBF"
            "h\r\nr1\r\nr2\r\n");
  EXPECT_EQ(csv.rows(), 3);
}

}  // namespace
}  // namespace dorset::runtime
