// A strict RFC 4180 CSV reader for the NHS files: quoted fields (with commas, doubled quotes
// and line breaks inside), LF or CRLF line endings, and the 1-based line each record starts
// on, so a rejected row can be reported by line. A malformed record (a stray quote, text after
// a closing quote, an unterminated quote) is reported and skipped; reading resumes at the next
// line.
#ifndef DORSET_SERVICES_REGISTRY_CSV_READER_H_
#define DORSET_SERVICES_REGISTRY_CSV_READER_H_

#include <string>
#include <string_view>
#include <vector>

namespace dorset::registry {

struct CsvRecord {
  int line = 0;  // where the record starts
  std::vector<std::string> fields;
};

class CsvReader {
 public:
  enum class Result { kRecord, kMalformed, kEnd };

  // `content` must outlive the reader.
  explicit CsvReader(std::string_view content);

  // kRecord: `record` holds the next record. kMalformed: `record.line` and `error` say where
  // and why; the record is skipped. kEnd: no more records. Blank lines are skipped.
  Result Next(CsvRecord& record, std::string& error);

 private:
  void SkipRestOfLine();

  std::string_view in_;
  size_t pos_ = 0;
  int line_ = 1;
};

}  // namespace dorset::registry

#endif  // DORSET_SERVICES_REGISTRY_CSV_READER_H_
