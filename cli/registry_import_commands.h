// dorsetctl registry's imports of the NHS files (import-epraccur, import-list-sizes,
// import-localities, import --kind=...): each file streamed in chunks, the import report printed
// (exit 3 when every row was rejected); kept apart from registry_commands.cc.
//   dorsetctl registry import-epraccur data/ods/epraccur-2025-05.csv [--commissioner=11J|all]
#ifndef DORSET_CLI_REGISTRY_IMPORT_COMMANDS_H_
#define DORSET_CLI_REGISTRY_IMPORT_COMMANDS_H_

#include <string>

#include "cli/cli_common.h"
#include "google/protobuf/message.h"

namespace dorset::cli {

bool IsRegistryImportCommand(const std::string& command);
// Runs one of them; the exit code.
int RunRegistryImportCommand(const std::string& command, const Args& args,
                             const Connection& connection);

namespace registry_cli {

// Prints the registry group's usage on stderr; the exit code (2). In registry_commands.cc.
int Usage();

inline std::string Json(const google::protobuf::Message& message, bool pretty = true) {
  return ToJson(message, pretty);
}

}  // namespace registry_cli
}  // namespace dorset::cli

#endif  // DORSET_CLI_REGISTRY_IMPORT_COMMANDS_H_
