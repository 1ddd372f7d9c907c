// dorsetctl finance import-postings FILE.csv: bulk entry of postings from a spreadsheet through
// BatchCreatePostings (docs/finance.md "Bulk entry"): the whole file or nothing, a rejection
// report naming each bad line, and safe to run again (the request id is derived from the file).
#ifndef DORSET_CLI_FINANCE_IMPORT_COMMANDS_H_
#define DORSET_CLI_FINANCE_IMPORT_COMMANDS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/cli_common.h"
#include "dorset/finance/v1/finance.pb.h"

namespace dorset::cli {

// One problem with one line of the file (line 1 is the header).
struct ImportRejection {
  int line = 0;
  std::string column;
  std::string problem;
};

// The postings of a CSV file (header: scheme, financial_year, month, kind, amount_gbp and
// optionally reason, in any order), with the file line of each; every problem found, by line.
struct ParsedImport {
  std::vector<finance::v1::Posting> postings;
  std::vector<int> lines;  // the file line of each posting
  std::vector<ImportRejection> rejections;
};
ParsedImport ParsePostingsCsv(const std::string& text);

// The request id of a file: "import-" and the first 32 hex digits of the SHA-256 of its bytes,
// so running the same file again is a retry of the same request.
std::string ImportRequestId(const std::string& text);

// Runs `dorsetctl finance import-postings FILE.csv`; the exit code (1 when rejected).
int RunImportPostings(const Args& args, const Connection& connection);

}  // namespace dorset::cli

#endif  // DORSET_CLI_FINANCE_IMPORT_COMMANDS_H_
