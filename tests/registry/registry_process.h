// The real dorset-registry binary as a child process for tests: free port, its own data
// directory, readiness wait, figures from /proc/<pid>/status, and signals with a bounded wait
// for the exit. The server's own output goes to <data_dir>/server.log.
#ifndef DORSET_TESTS_REGISTRY_REGISTRY_PROCESS_H_
#define DORSET_TESTS_REGISTRY_REGISTRY_PROCESS_H_

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "dorset/registry/v1/registry.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "runtime/testing/redis_server.h"
#include "runtime/testing/test_engine.h"
#include "runtime/testing/test_host.h"

namespace dorset::registry::testing {

class RegistryProcess {
 public:
  // `asan_extra` is appended to ASAN_OPTIONS in the child (e.g. "quarantine_size_mb=16", so
  // memory figures measure the registry, not the sanitizer's quarantine of freed memory).
  explicit RegistryProcess(const std::string& data_dir, const std::string& asan_extra = "",
                           std::vector<std::string> extra_flags = {})
      : port_(dorset::testing::FreePort()) {
    std::vector<std::string> args = {
        DORSET_REGISTRY_BINARY,      absl::StrCat("--grpc_listen=127.0.0.1:", port_),
        "--ops_listen=127.0.0.1:0",  "--data_dir=" + data_dir,
        "--plaintext=true",          "--auth=none",
        "--rate_limit_per_second=0", "--drain_seconds=0",
        "--log_level=warn"};
    // The engine of this test run (runtime/testing/test_engine.h); the same database every time
    // a process starts on `data_dir`.
    if (absl::StatusOr<std::string> database = dorset::testing::TestDatabaseFor(data_dir);
        database.ok()) {
      args.push_back("--database=" + *database);
    } else {
      ADD_FAILURE() << database.status();
    }
    args.insert(args.end(), extra_flags.begin(), extra_flags.end());
    pid_ = fork();
    if (pid_ == 0) {
      const std::string log = data_dir + "/server.log";
      if (freopen(log.c_str(), "a", stderr) == nullptr ||
          freopen(log.c_str(), "a", stdout) == nullptr) {
        _exit(126);
      }
      if (!asan_extra.empty()) {
        const char* asan = getenv("ASAN_OPTIONS");
        const std::string options = absl::StrCat(asan == nullptr ? "" : asan, ":", asan_extra);
        setenv("ASAN_OPTIONS", options.c_str(), 1);
      }
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  ~RegistryProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  RegistryProcess(const RegistryProcess&) = delete;
  RegistryProcess& operator=(const RegistryProcess&) = delete;

  bool WaitReady() {
    auto stub = v1::RegistryService::NewStub(dorset::testing::LocalChannel(port_));
    for (int i = 0; i < 600; ++i) {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
      v1::ListClustersResponse response;
      if (stub->ListClusters(&context, v1::ListClustersRequest(), &response).ok()) return true;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return false;
  }
  // A figure from /proc/<pid>/status in KiB ("VmRSS", "VmHWM"); -1 when unreadable.
  int64_t StatusKib(const std::string& key) const {
    std::ifstream in(absl::StrCat("/proc/", pid_, "/status"));
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind(key + ":", 0) == 0) {
        int64_t kib = 0;
        std::string digits;
        for (char c : line) {
          if (c >= '0' && c <= '9') digits.push_back(c);
        }
        return absl::SimpleAtoi(digits, &kib) ? kib : -1;
      }
    }
    return -1;
  }
  // Resets the peak (VmHWM) to the current RSS.
  void ResetPeak() const {
    std::ofstream out(absl::StrCat("/proc/", pid_, "/clear_refs"));
    out << "5";
  }
  void Signal(int sig) const {
    if (pid_ > 0) kill(pid_, sig);
  }
  // Waits up to `timeout` for the process to exit: its exit status, 128 + the signal that
  // ended it, or -1 when it is still running at the deadline.
  int WaitExit(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (pid_ > 0) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      if (absl::Now() > deadline) return -1;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return -1;
  }
  int port() const { return port_; }

 private:
  int port_;
  pid_t pid_ = -1;
};

}  // namespace dorset::registry::testing

#endif  // DORSET_TESTS_REGISTRY_REGISTRY_PROCESS_H_
