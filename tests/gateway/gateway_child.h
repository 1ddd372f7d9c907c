// dorset-gateway as a child process of a test (its settings differ from the services', so not
// runtime/testing's ServerProcess): its output appended to a log file, SIGKILLed when the
// object goes, and killed by the kernel if the test dies first (forked on the test's main
// thread, PR_SET_PDEATHSIG), so a crashed test leaves no gateway behind.
//
// The gateway binds port 0 itself and the test reads the port it got from its "listening" line:
// a port chosen by the test and bound later by the child could be taken in between by another
// process binding port 0 (a service's ops listener once answered "not found" on it).
//
//   GatewayChild gateway({"--registry_target=127.0.0.1:50051"}, dir.File("gateway.log"));
//   ASSERT_TRUE(gateway.WaitLive());
//   httplib::Client client("127.0.0.1", gateway.port());
#ifndef DORSET_TESTS_GATEWAY_GATEWAY_CHILD_H_
#define DORSET_TESTS_GATEWAY_GATEWAY_CHILD_H_

#include <httplib.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace dorset::gateway {

class GatewayChild {
 public:
  // `flags`: settings after --http_listen and --plaintext=true ("--registry_target=...").
  GatewayChild(const std::vector<std::string>& flags, const std::string& log) : log_(log) {
    std::error_code error;
    const auto size = std::filesystem::file_size(log, error);
    log_offset_ = error ? 0 : static_cast<std::streamoff>(size);
    std::vector<std::string> args = {DORSET_GATEWAY_BINARY, "--http_listen=127.0.0.1:0",
                                     "--plaintext=true"};
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

  // True once the gateway has said which port it listens on (within 60 s; false at once if it
  // exited). port() is valid after that.
  bool WaitListening() {
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (absl::Now() < deadline) {
      if (ReadPort()) return true;
      if (pid_ <= 0 || waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    return false;
  }

  // True once /livez answers on the port the gateway reported (within 60 s).
  bool WaitLive() {
    if (!WaitListening()) return false;
    httplib::Client probe("127.0.0.1", port_);
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (absl::Now() < deadline) {
      auto res = probe.Get("/livez");
      if (res && res->status == 200) return true;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return false;
  }
  // The port it listens on (after WaitListening or WaitLive; 0 before).
  int port() const { return port_; }

 private:
  // Reads this child's "listening" line (written after the log's size at start) into port_.
  bool ReadPort() {
    std::ifstream in(log_);
    if (!in) return false;
    in.seekg(log_offset_);
    static constexpr char kMarker[] = "\"msg\":\"dorset-gateway listening\",\"port\":";
    std::string line;
    while (std::getline(in, line)) {
      const size_t at = line.find(kMarker);
      if (at == std::string::npos) continue;
      const size_t begin = at + sizeof(kMarker) - 1;
      const size_t end = line.find_first_not_of("0123456789", begin);
      int port = 0;
      if (absl::SimpleAtoi(line.substr(begin, end - begin), &port) && port > 0) {
        port_ = port;
        return true;
      }
    }
    return false;
  }

  const std::string log_;
  std::streamoff log_offset_ = 0;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace dorset::gateway

#endif  // DORSET_TESTS_GATEWAY_GATEWAY_CHILD_H_
