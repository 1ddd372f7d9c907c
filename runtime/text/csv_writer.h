// The one CSV writer for spreadsheet exports of every service (engagement's responses and
// aggregates, finance's exports): RFC 4180 quoting, CRLF line ends, an optional UTF-8 byte order
// mark (Excel needs it to read UTF-8), ISO 8601 UTC times, and protection against CSV (formula)
// injection: a text cell a spreadsheet would run as a formula (starting with = + - @, tab or
// CR) is written with a leading apostrophe, which spreadsheets show as text (OWASP's advice).
// Numbers written with Int() are never neutralised, so a negative amount stays a number.
#ifndef DORSET_RUNTIME_TEXT_CSV_WRITER_H_
#define DORSET_RUNTIME_TEXT_CSV_WRITER_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "absl/time/time.h"

namespace dorset::runtime {

struct CsvOptions {
  // Start the output with EF BB BF.
  bool byte_order_mark = false;
};

// Builds CSV text row by row into a string; Take() hands over what has been written so far (whole
// rows), so a large export can be streamed in pieces.
//
//   CsvWriter csv({.byte_order_mark = true});
//   csv.Row({"name", "amount"});
//   csv.Text(name).Int(pence).EndRow();
class CsvWriter {
 public:
  explicit CsvWriter(CsvOptions options = {});

  // A text cell: neutralised if it could start a formula, quoted when it holds , " CR or LF
  // (or leading/trailing spaces), with " doubled.
  CsvWriter& Text(std::string_view value);
  // A number cell, written as is.
  CsvWriter& Int(int64_t value);
  // A number the caller wrote as decimal text, [-]digits[.digits] (e.g. pounds "-1234.50"):
  // written as is, so a spreadsheet reads a number (a leading minus is not neutralised); any
  // other text is written as Text() would.
  CsvWriter& Number(std::string_view decimal);
  // A time cell in ISO 8601 UTC with seconds ("2026-11-30T23:59:08Z"); empty for
  // absl::InfinitePast() (an unset time).
  CsvWriter& Time(absl::Time value);
  // Ends the current row with CRLF.
  CsvWriter& EndRow();
  // A whole row of text cells.
  CsvWriter& Row(std::initializer_list<std::string_view> cells);

  // Bytes written so far (and not yet taken).
  size_t size() const { return out_.size(); }
  // Rows ended so far, in all.
  int64_t rows() const { return rows_; }
  // What has been written since the last Take(); only whole rows if called between rows.
  std::string Take();

  // The cell as Text() would write it (exposed for tests and for callers that build one cell).
  static std::string Cell(std::string_view value);

 private:
  void Separate();

  std::string out_;
  bool row_started_ = false;
  int64_t rows_ = 0;
};

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_TEXT_CSV_WRITER_H_
