// A real redis-server for tests: started on a free port in a temporary directory, with no
// persistence, killed (SIGKILL, as a crash), hung (SIGSTOP/SIGCONT) or stopped and restarted on
// the same port.
#ifndef DORSET_RUNTIME_TESTING_REDIS_SERVER_H_
#define DORSET_RUNTIME_TESTING_REDIS_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/testing/temp_dir.h"

namespace dorset::testing {

class RedisServer {
 public:
  // Starts redis-server (from PATH or /usr/bin) and waits until it answers PING. `extra_args`
  // are appended to its command line (e.g. {"--aclfile", path}); the default user must still be
  // allowed to PING.
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start(
      std::vector<std::string> extra_args = {});
  ~RedisServer();

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // SIGKILL: the crash case.
  void Kill();
  // Starts again on the same port.
  absl::Status Restart();
  // SIGSTOP / SIGCONT: the hung-server case (connections stay open, nothing answers).
  void Pause();
  void Resume();
  // Runs a command through redis-cli and returns its output (tests inspect keys with it), as
  // the user given to SetCliUser (the default user until then).
  std::string Cli(const std::string& args) const;
  void SetCliUser(std::string user, std::string password) {
    cli_user_ = std::move(user);
    cli_password_ = std::move(password);
  }

 private:
  RedisServer() = default;
  absl::Status Launch();

  TempDir dir_;
  std::vector<std::string> extra_args_;
  std::string cli_user_;
  std::string cli_password_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// A TCP port that was free a moment ago on 127.0.0.1.
int FreePort();

}  // namespace dorset::testing

#endif  // DORSET_RUNTIME_TESTING_REDIS_SERVER_H_
