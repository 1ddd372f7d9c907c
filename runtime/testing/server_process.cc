#include "runtime/testing/server_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace dorset::testing {

ServerProcess::ServerProcess(const std::string& binary, const std::string& data_dir, int port,
                             const std::string& database,
                             const std::vector<std::string>& extra_flags)
    : port_(port) {
  // Everything the child needs is built before fork: after it only exec-safe calls run.
  std::vector<std::string> args = {binary,
                                   absl::StrCat("--grpc_listen=127.0.0.1:", port),
                                   "--ops_listen=127.0.0.1:0",
                                   "--data_dir=" + data_dir,
                                   "--database=" + database,
                                   "--plaintext=true",
                                   "--auth=none",
                                   "--rate_limit_per_second=0",
                                   "--drain_seconds=0",
                                   "--log_level=warn"};
  args.insert(args.end(), extra_flags.begin(), extra_flags.end());
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const std::string log = data_dir + "/server.log";
  pid_ = fork();
  if (pid_ == 0) {
    if (freopen(log.c_str(), "a", stderr) == nullptr ||
        freopen(log.c_str(), "a", stdout) == nullptr) {
      _exit(126);
    }
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Signal(SIGKILL);
}

int ServerProcess::Signal(int sig) {
  if (pid_ <= 0) return -1;
  kill(pid_, sig);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return status;
}

bool ServerProcess::WaitReady(const std::function<bool()>& probe) {
  for (int i = 0; i < 600; ++i) {
    if (probe()) return true;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return false;
}

}  // namespace dorset::testing
