// dorsetctl finance's month-end close commands (period list|get|start-close|close|reopen)
// and the ledger check (verify), kept apart from finance_commands.cc.
#ifndef DORSET_CLI_FINANCE_PERIOD_COMMANDS_H_
#define DORSET_CLI_FINANCE_PERIOD_COMMANDS_H_

#include <string>

#include "cli/cli_common.h"

namespace dorset::cli {

bool IsFinancePeriodCommand(const std::string& command);
// Runs one of them; the exit code (verify: 1 when the ledger does not verify).
int RunFinancePeriodCommand(const std::string& command, const Args& args,
                            const Connection& connection);

}  // namespace dorset::cli

#endif  // DORSET_CLI_FINANCE_PERIOD_COMMANDS_H_
