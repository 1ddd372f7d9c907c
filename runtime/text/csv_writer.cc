// The shared CSV writer (csv_writer.h).
#include "runtime/text/csv_writer.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace dorset::runtime {
namespace {

// Characters that make a spreadsheet treat a cell as a formula (or that some spreadsheets strip
// before looking for one: tab, CR).
bool StartsFormula(std::string_view value) {
  if (value.empty()) return false;
  switch (value.front()) {
    case '=':
    case '+':
    case '-':
    case '@':
    case '\t':
    case '\r':
      return true;
    default:
      return false;
  }
}

}  // namespace

CsvWriter::CsvWriter(CsvOptions options) {
  if (options.byte_order_mark) out_ = "\xEF\xBB\xBF";
}

std::string CsvWriter::Cell(std::string_view value) {
  std::string cell;
  if (StartsFormula(value)) cell.push_back('\'');
  cell.append(value);
  const bool quote = cell.find_first_of(",\"\r\n") != std::string::npos ||
                     (!cell.empty() && (cell.front() == ' ' || cell.back() == ' '));
  if (!quote) return cell;
  std::string quoted = "\"";
  for (char c : cell) {
    if (c == '"') quoted.push_back('"');
    quoted.push_back(c);
  }
  quoted.push_back('"');
  return quoted;
}

void CsvWriter::Separate() {
  if (row_started_) out_.push_back(',');
  row_started_ = true;
}

CsvWriter& CsvWriter::Text(std::string_view value) {
  Separate();
  out_.append(Cell(value));
  return *this;
}

CsvWriter& CsvWriter::Int(int64_t value) {
  Separate();
  absl::StrAppend(&out_, value);
  return *this;
}

CsvWriter& CsvWriter::Number(std::string_view decimal) {
  std::string_view digits = decimal;
  if (!digits.empty() && digits.front() == '-') digits.remove_prefix(1);
  const size_t point = digits.find('.');
  const std::string_view whole = digits.substr(0, point);
  const std::string_view fraction =
      point == std::string_view::npos ? std::string_view() : digits.substr(point + 1);
  auto all_digits = [](std::string_view v) {
    return std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  const bool number = !whole.empty() && all_digits(whole) && all_digits(fraction) &&
                      (point == std::string_view::npos || !fraction.empty());
  if (!number) return Text(decimal);
  Separate();
  out_.append(decimal);
  return *this;
}

CsvWriter& CsvWriter::Time(absl::Time value) {
  Separate();
  if (value != absl::InfinitePast()) {
    out_.append(absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", value, absl::UTCTimeZone()));
  }
  return *this;
}

CsvWriter& CsvWriter::EndRow() {
  out_.append("\r\n");
  row_started_ = false;
  ++rows_;
  return *this;
}

CsvWriter& CsvWriter::Row(std::initializer_list<std::string_view> cells) {
  for (std::string_view cell : cells) Text(cell);
  return EndRow();
}

std::string CsvWriter::Take() {
  std::string taken;
  taken.swap(out_);
  return taken;
}

}  // namespace dorset::runtime
