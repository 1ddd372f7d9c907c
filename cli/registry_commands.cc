// dorsetctl registry ...: commands for the registry service.
#include <iostream>

#include "cli/cli_common.h"
#include "cli/command_groups.h"

namespace dorset::cli {

int RunRegistryCommand(int argc, char** argv) {
  std::cerr << "dorsetctl registry: no commands yet\n";
  return 2;
}

}  // namespace dorset::cli
