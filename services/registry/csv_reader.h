// A strict RFC 4180 CSV reader for the NHS files: quoted fields (with commas, doubled quotes
// and line breaks inside), LF or CRLF line endings, and the 1-based line each record starts
// on, so a rejected row can be reported by line. A malformed record (a stray quote, text after
// a closing quote, an unterminated quote, a record over kMaxRecordBytes) is reported and
// skipped; reading resumes at the next line.
//
// The reader streams: it holds one buffer and the current record, never the whole file, so
// an import's memory does not grow with the file (docs/registry.md, "Imports").
#ifndef DORSET_SERVICES_REGISTRY_CSV_READER_H_
#define DORSET_SERVICES_REGISTRY_CSV_READER_H_

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace dorset::registry {

// Longest record accepted (an unterminated quote would otherwise swallow the whole file).
inline constexpr size_t kMaxRecordBytes = 64 * 1024;

struct CsvRecord {
  int line = 0;  // where the record starts
  std::vector<std::string> fields;
};

// Where the bytes come from.
class CsvSource {
 public:
  virtual ~CsvSource() = default;
  // Fills up to `size` bytes; 0 at the end. A read error also ends the input and is reported
  // by failed().
  virtual size_t Read(char* buffer, size_t size) = 0;
  virtual bool failed() const { return false; }
  // Back to where the source started, for a transaction that runs again (storage/store.h);
  // false when that is not possible.
  virtual bool Rewind() { return false; }
};

// Bytes already in memory; `content` must outlive the source.
class StringSource final : public CsvSource {
 public:
  explicit StringSource(std::string_view content) : all_(content), content_(content) {}
  size_t Read(char* buffer, size_t size) override;
  bool Rewind() override {
    content_ = all_;
    return true;
  }

 private:
  std::string_view all_;
  std::string_view content_;
};

// An open file read from its current position; not owned.
class FileSource final : public CsvSource {
 public:
  explicit FileSource(std::FILE* file) : file_(file), start_(std::ftell(file)) {}
  size_t Read(char* buffer, size_t size) override;
  bool failed() const override { return failed_; }
  bool Rewind() override {
    failed_ = false;
    return start_ >= 0 && std::fseek(file_, start_, SEEK_SET) == 0;
  }

 private:
  std::FILE* file_;
  long start_;  // NOLINT(runtime/int): ftell's type
  bool failed_ = false;
};

class CsvReader {
 public:
  enum class Result { kRecord, kMalformed, kEnd };

  // `source` must outlive the reader.
  explicit CsvReader(CsvSource& source);
  // Reads `content` (which must outlive the reader).
  explicit CsvReader(std::string_view content);

  // kRecord: `record` holds the next record. kMalformed: `record.line` and `error` say where
  // and why; the record is skipped. kEnd: no more records. Blank lines are skipped.
  Result Next(CsvRecord& record, std::string& error);

 private:
  static constexpr size_t kBufferBytes = 64 * 1024;

  // The next byte without consuming it, or -1 at the end.
  int Peek() {
    if (pos_ == end_ && !Refill()) return -1;
    return static_cast<unsigned char>(buffer_[pos_]);
  }
  void Advance() { ++pos_; }
  bool Refill();
  void SkipRestOfLine();

  StringSource owned_source_{""};
  CsvSource* source_;
  std::vector<char> buffer_;
  size_t pos_ = 0;
  size_t end_ = 0;
  bool at_end_ = false;
  bool started_ = false;
  int line_ = 1;
};

}  // namespace dorset::registry

#endif  // DORSET_SERVICES_REGISTRY_CSV_READER_H_
