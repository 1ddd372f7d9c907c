// dorset-committed-echo: the runtime's echo with every reply sent after a group commit of the
// storage lane (committed_echo_module.h). Takes --commit=empty|row (default row) before the
// server's usual flags.
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "bench/committed_echo/committed_echo_module.h"
#include "runtime/server/service_host.h"

int main(int argc, char** argv) {
  std::string mode_text = "row";
  std::vector<char*> rest = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.substr(0, 9) == "--commit=") {
      mode_text = std::string(arg.substr(9));
    } else {
      rest.push_back(argv[i]);
    }
  }
  const absl::StatusOr<dorset::bench::CommitMode> mode = dorset::bench::ParseCommitMode(mode_text);
  if (!mode.ok()) {
    std::cerr << "dorset-committed-echo: " << mode.status().message() << "\n";
    return 2;
  }
  return dorset::runtime::RunServerMain(
      static_cast<int>(rest.size()), rest.data(),
      {"committed-echo", "127.0.0.1:50058", "127.0.0.1:8088"},
      [mode = *mode] { return std::make_unique<dorset::bench::CommittedEchoModule>(mode); });
}
