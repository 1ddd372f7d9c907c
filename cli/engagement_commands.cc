// dorsetctl engagement ...: commands for the engagement service.
#include <iostream>

#include "cli/cli_common.h"
#include "cli/command_groups.h"

namespace dorset::cli {

int RunEngagementCommand(int argc, char** argv) {
  std::cerr << "dorsetctl engagement: no commands yet\n";
  return 2;
}

}  // namespace dorset::cli
