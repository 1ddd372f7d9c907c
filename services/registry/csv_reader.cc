#include "services/registry/csv_reader.h"

namespace dorset::registry {

CsvReader::CsvReader(std::string_view content) : in_(content) {
  // A UTF-8 byte-order mark is not part of the first field.
  if (in_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
}

void CsvReader::SkipRestOfLine() {
  while (pos_ < in_.size() && in_[pos_] != '\n') ++pos_;
  if (pos_ < in_.size()) {
    ++pos_;
    ++line_;
  }
}

CsvReader::Result CsvReader::Next(CsvRecord& record, std::string& error) {
  record.fields.clear();
  // Skip blank lines.
  while (pos_ < in_.size() && (in_[pos_] == '\n' || in_[pos_] == '\r')) {
    if (in_[pos_] == '\n') ++line_;
    ++pos_;
  }
  if (pos_ >= in_.size()) return Result::kEnd;
  record.line = line_;
  std::string field;
  while (true) {
    field.clear();
    if (pos_ < in_.size() && in_[pos_] == '"') {
      // Quoted field: runs to the matching quote; "" is a literal quote.
      ++pos_;
      bool closed = false;
      while (pos_ < in_.size()) {
        const char c = in_[pos_++];
        if (c == '"') {
          if (pos_ < in_.size() && in_[pos_] == '"') {
            field.push_back('"');
            ++pos_;
          } else {
            closed = true;
            break;
          }
        } else {
          if (c == '\n') ++line_;
          field.push_back(c);
        }
      }
      if (!closed) {
        error = "unterminated quoted field";
        return Result::kMalformed;
      }
      if (pos_ < in_.size() && in_[pos_] != ',' && in_[pos_] != '\n' && in_[pos_] != '\r') {
        error = "text after a closing quote in field " + std::to_string(record.fields.size() + 1);
        SkipRestOfLine();
        return Result::kMalformed;
      }
    } else {
      while (pos_ < in_.size() && in_[pos_] != ',' && in_[pos_] != '\n' && in_[pos_] != '\r') {
        if (in_[pos_] == '"') {
          error = "quote inside unquoted field " + std::to_string(record.fields.size() + 1);
          SkipRestOfLine();
          return Result::kMalformed;
        }
        field.push_back(in_[pos_++]);
      }
    }
    record.fields.push_back(field);
    if (pos_ >= in_.size()) return Result::kRecord;
    const char c = in_[pos_++];
    if (c == ',') continue;
    if (c == '\r') {
      if (pos_ < in_.size() && in_[pos_] == '\n') ++pos_;
      ++line_;
      return Result::kRecord;
    }
    ++line_;  // '\n'
    return Result::kRecord;
  }
}

}  // namespace dorset::registry
