#include "services/registry/csv_reader.h"

#include <algorithm>
#include <cstring>

namespace dorset::registry {

size_t StringSource::Read(char* buffer, size_t size) {
  const size_t n = std::min(size, content_.size());
  std::memcpy(buffer, content_.data(), n);
  content_.remove_prefix(n);
  return n;
}

size_t FileSource::Read(char* buffer, size_t size) {
  const size_t n = std::fread(buffer, 1, size, file_);
  if (n == 0 && std::ferror(file_)) failed_ = true;
  return n;
}

CsvReader::CsvReader(CsvSource& source) : source_(&source), buffer_(kBufferBytes) {}

CsvReader::CsvReader(std::string_view content)
    : owned_source_(content), source_(&owned_source_), buffer_(kBufferBytes) {}

bool CsvReader::Refill() {
  if (at_end_) return false;
  pos_ = 0;
  end_ = source_->Read(buffer_.data(), buffer_.size());
  if (end_ == 0) at_end_ = true;
  return end_ > 0;
}

void CsvReader::SkipRestOfLine() {
  for (int c = Peek(); c != -1; c = Peek()) {
    Advance();
    if (c == '\n') {
      ++line_;
      return;
    }
  }
}

CsvReader::Result CsvReader::Next(CsvRecord& record, std::string& error) {
  record.fields.clear();
  if (!started_) {
    started_ = true;
    // A UTF-8 byte-order mark is not part of the first field.
    if (Peek() == 0xEF && end_ - pos_ >= 3 && std::memcmp(&buffer_[pos_], "\xEF\xBB\xBF", 3) == 0) {
      pos_ += 3;
    }
  }
  // Skip blank lines.
  for (int c = Peek(); c == '\n' || c == '\r'; c = Peek()) {
    if (c == '\n') ++line_;
    Advance();
  }
  if (Peek() == -1) return Result::kEnd;
  record.line = line_;
  size_t record_bytes = 0;
  std::string field;
  auto too_long = [&]() {
    error = "record longer than " + std::to_string(kMaxRecordBytes) + " bytes";
    SkipRestOfLine();
    return Result::kMalformed;
  };
  while (true) {
    field.clear();
    if (Peek() == '"') {
      // Quoted field: runs to the matching quote; "" is a literal quote.
      Advance();
      bool closed = false;
      for (int c = Peek(); c != -1; c = Peek()) {
        Advance();
        if (c == '"') {
          if (Peek() == '"') {
            field.push_back('"');
            Advance();
          } else {
            closed = true;
            break;
          }
        } else {
          if (c == '\n') ++line_;
          field.push_back(static_cast<char>(c));
        }
        if (record_bytes + field.size() > kMaxRecordBytes) return too_long();
      }
      if (!closed) {
        error = "unterminated quoted field";
        return Result::kMalformed;
      }
      const int next = Peek();
      if (next != -1 && next != ',' && next != '\n' && next != '\r') {
        error = "text after a closing quote in field " + std::to_string(record.fields.size() + 1);
        SkipRestOfLine();
        return Result::kMalformed;
      }
    } else {
      for (int c = Peek(); c != -1 && c != ',' && c != '\n' && c != '\r'; c = Peek()) {
        if (c == '"') {
          error = "quote inside unquoted field " + std::to_string(record.fields.size() + 1);
          SkipRestOfLine();
          return Result::kMalformed;
        }
        field.push_back(static_cast<char>(c));
        Advance();
        if (record_bytes + field.size() > kMaxRecordBytes) return too_long();
      }
    }
    record_bytes += field.size() + 1;
    record.fields.push_back(field);
    if (record_bytes > kMaxRecordBytes) return too_long();
    const int c = Peek();
    if (c == -1) return Result::kRecord;
    Advance();
    if (c == ',') continue;
    if (c == '\r') {
      if (Peek() == '\n') Advance();
      ++line_;
      return Result::kRecord;
    }
    ++line_;  // '\n'
    return Result::kRecord;
  }
}

}  // namespace dorset::registry
