// What dorsetctl finance's command files share (finance_commands.cc, finance_report_commands.cc):
// the default plan, amounts shown as pounds, CSV options and where CSV goes, and the group's
// usage message. Amounts travel as integer pence; this is the edge where they become pounds.
//   finance_cli::Output out(args);
//   if (!out.ok()) return 2;
//   out.stream() << Display(report.unidentified_target());
#ifndef DORSET_CLI_FINANCE_OUTPUT_H_
#define DORSET_CLI_FINANCE_OUTPUT_H_

#include <fstream>
#include <iostream>
#include <string>

#include "cli/cli_common.h"
#include "dorset/common/v1/money.pb.h"
#include "runtime/text/csv_writer.h"
#include "services/finance/money/money.h"

namespace dorset::cli::finance_cli {

inline constexpr char kDefaultPlan[] = "plans/dorset-stp";

// Prints the finance group's usage on stderr; the exit code (2). In finance_commands.cc.
int Usage();

inline std::string Pounds(const dorset::common::v1::Money& m) {
  return finance::money::FormatPounds(m.pence());
}
inline std::string Display(const dorset::common::v1::Money& m) {
  return finance::money::FormatPounds(m.pence(), {.symbol = true, .grouping = true});
}

// CSV for spreadsheets (runtime/text/csv_writer.h): CRLF, ISO 8601 times, cells that would start
// a formula neutralised; --bom starts the file with a UTF-8 byte order mark (Excel needs it to
// read UTF-8).
inline runtime::CsvOptions CsvOptionsOf(const Args& args) {
  runtime::CsvOptions options;
  options.byte_order_mark = args.Has("bom");
  return options;
}

// Where CSV goes: --out=FILE or stdout.
class Output {
 public:
  explicit Output(const Args& args) {
    if (auto path = args.Get("out")) {
      file_.open(*path);
      ok_ = file_.good();
      if (!ok_) std::cerr << "cannot write " << *path << "\n";
    }
  }
  bool ok() const { return ok_; }
  std::ostream& stream() { return file_.is_open() ? static_cast<std::ostream&>(file_) : std::cout; }

 private:
  std::ofstream file_;
  bool ok_ = true;
};

}  // namespace dorset::cli::finance_cli

#endif  // DORSET_CLI_FINANCE_OUTPUT_H_
