// dorsetctl: one command-line client for all Dorset Digital services.
//   dorsetctl <group> <command> [--option=value ...] [arguments]
// Each group lives in its own file (<group>_commands.cc) and is listed in Groups().
#include <iostream>
#include <string>

#include "cli/cli_common.h"
#include "cli/command_groups.h"

int main(int argc, char** argv) {
  const auto& groups = dorset::cli::Groups();
  if (argc >= 2) {
    for (const auto& group : groups) {
      if (group.name == argv[1]) return group.run(argc - 2, argv + 2);
    }
  }
  std::cerr << "usage: dorsetctl <group> <command> [--option=value ...]\n"
               "connection options: --target=host:port (or --registry= --finance= "
               "--engagement=) --token=... --tls_ca=ca.pem [--client_cert=c.pem "
               "--client_key=c.key] --config=FILE\n"
               "each also from DORSETCTL_<OPTION> (DORSETCTL_REGISTRY, DORSETCTL_TOKEN, ...) or "
               "~/.config/dorsetctl/config; see dorsetctl config\n\ngroups:\n";
  for (const auto& group : groups) std::cerr << "  " << group.name << "  " << group.summary << "\n";
  return argc >= 2 && std::string(argv[1]) == "help" ? 0 : 2;
}
