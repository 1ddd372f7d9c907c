// dorsetctl finance's report commands (report, export-report, gap, per-head): a plan's month
// against its targets, the gap trajectory and per-head figures, as text or CSV; kept apart
// from finance_commands.cc.
//   dorsetctl finance report --plan=plans/dorset-stp --year=2020-21 --month=3 [--csv]
#ifndef DORSET_CLI_FINANCE_REPORT_COMMANDS_H_
#define DORSET_CLI_FINANCE_REPORT_COMMANDS_H_

#include <string>

#include "cli/cli_common.h"
#include "cli/finance_output.h"

namespace dorset::cli {

bool IsFinanceReportCommand(const std::string& command);
// Runs one of them; CSV goes to `out` (report, export-report); the exit code.
int RunFinanceReportCommand(const std::string& command, const Args& args,
                            const Connection& connection, finance_cli::Output& out);

}  // namespace dorset::cli

#endif  // DORSET_CLI_FINANCE_REPORT_COMMANDS_H_
