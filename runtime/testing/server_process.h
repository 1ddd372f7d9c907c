// A Dorset server binary run as a child process, for the crash tests of every service (kill -9
// under load, restart on the same store): started on a port with a data directory and an optional
// `--database` setting, plaintext and without auth, its output appended to
// `<data_dir>/server.log`; killed with SIGKILL when the object goes if still running.
//
//   ServerProcess server(DORSET_FINANCE_BINARY, dir.path(), port, database);
//   ASSERT_TRUE(server.WaitReady([&] { return stub->GetPlan(...).ok(); }));
//   const int status = server.Signal(SIGKILL);  // WIFSIGNALED(status)
#ifndef DORSET_RUNTIME_TESTING_SERVER_PROCESS_H_
#define DORSET_RUNTIME_TESTING_SERVER_PROCESS_H_

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

namespace dorset::testing {

class ServerProcess {
 public:
  // `database`: the --database setting ("" for SQLite under `data_dir`). `extra_flags` are
  // appended after the fixed ones ("--name=value").
  ServerProcess(const std::string& binary, const std::string& data_dir, int port,
                const std::string& database = "", const std::vector<std::string>& extra_flags = {});
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Sends `sig` and reaps the child; returns its wait status (-1 when it was already reaped).
  int Signal(int sig);
  // Calls `probe` every 100 ms until it returns true (ready) or 60 s have passed (false).
  bool WaitReady(const std::function<bool()>& probe);
  int port() const { return port_; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int port_;
};

}  // namespace dorset::testing

#endif  // DORSET_RUNTIME_TESTING_SERVER_PROCESS_H_
