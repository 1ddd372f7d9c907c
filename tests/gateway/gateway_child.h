// dorset-gateway as a child process of a test (its settings differ from the services', so not
// runtime/testing's ServerProcess): its output appended to a log file, SIGKILLed when the
// object goes, and killed by the kernel if the test dies first (forked on the test's main
// thread, PR_SET_PDEATHSIG), so a crashed test leaves no gateway behind.
#ifndef DORSET_TESTS_GATEWAY_GATEWAY_CHILD_H_
#define DORSET_TESTS_GATEWAY_GATEWAY_CHILD_H_

#include <httplib.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace dorset::gateway {

class GatewayChild {
 public:
  // `flags`: settings after --http_listen and --plaintext=true ("--registry_target=...").
  GatewayChild(int port, const std::vector<std::string>& flags, const std::string& log)
      : port_(port) {
    std::vector<std::string> args = {
        DORSET_GATEWAY_BINARY, absl::StrCat("--http_listen=127.0.0.1:", port), "--plaintext=true"};
    args.insert(args.end(), flags.begin(), flags.end());
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (freopen(log.c_str(), "a", stderr) == nullptr ||
          freopen(log.c_str(), "a", stdout) == nullptr) {
        _exit(126);
      }
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  ~GatewayChild() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  GatewayChild(const GatewayChild&) = delete;
  GatewayChild& operator=(const GatewayChild&) = delete;

  // True once /livez answers (within 60 s).
  bool WaitLive() const {
    httplib::Client probe("127.0.0.1", port_);
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (absl::Now() < deadline) {
      auto res = probe.Get("/livez");
      if (res && res->status == 200) return true;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return false;
  }
  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int port_;
};

}  // namespace dorset::gateway

#endif  // DORSET_TESTS_GATEWAY_GATEWAY_CHILD_H_
