// A real service binary as a child process for the durability and full-disk tests: fixed free
// ports, plaintext, auth=none, its log in the data directory. The child ignores SIGXFSZ, so a
// file-size limit set on it later (LimitFileSize, prlimit: no privileges needed) makes its
// writes fail with EFBIG, as on a full disk, instead of killing it.
#ifndef DORSET_TESTS_SECURITY_SERVER_CHILD_H_
#define DORSET_TESTS_SECURITY_SERVER_CHILD_H_

#include <sys/resource.h>
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace dorset::testing {

class ServerChild {
 public:
  // Starts `binary` on `data_dir`; ports stay the same across Restart().
  ServerChild(std::string binary, std::string data_dir, std::vector<std::string> extra = {});
  ~ServerChild();  // SIGKILL if still running

  // Starts the binary again (after Kill / WaitExit) on the same ports and directory.
  void Restart();
  // SIGKILL and reap: the crash case.
  void Kill();
  void Signal(int sig);
  // Waits for the process to exit; its exit code, or -1 on a signal or after `timeout`.
  int WaitExit(absl::Duration timeout);
  // Sets the soft RLIMIT_FSIZE of the running child (the hard limit stays, so it can be raised
  // again): every write past `bytes` in any file fails.
  bool LimitFileSize(rlim_t bytes);

  std::shared_ptr<grpc::Channel> Channel() const;
  grpc::health::v1::HealthCheckResponse::ServingStatus Health(const std::string& name) const;
  // Polls health until `name` is SERVING (up to `timeout`).
  bool WaitServing(const std::string& name, absl::Duration timeout = absl::Seconds(90)) const;
  // GET on the ops port: {HTTP status, body}; status 0 when the server did not answer.
  std::pair<int, std::string> Ops(const std::string& path) const;
  std::string Log() const;  // what the child wrote to its log so far
  int grpc_port() const { return grpc_port_; }

 private:
  void Launch();

  std::string binary_;
  std::string data_dir_;
  std::vector<std::string> extra_;
  int grpc_port_ = 0;
  int ops_port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace dorset::testing

#endif  // DORSET_TESTS_SECURITY_SERVER_CHILD_H_
