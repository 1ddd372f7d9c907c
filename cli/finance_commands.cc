// dorsetctl finance ...: commands for the finance service.
#include <iostream>

#include "cli/cli_common.h"
#include "cli/command_groups.h"

namespace dorset::cli {

int RunFinanceCommand(int argc, char** argv) {
  std::cerr << "dorsetctl finance: no commands yet\n";
  return 2;
}

}  // namespace dorset::cli
