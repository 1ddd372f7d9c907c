// dorset-test-postgres: holds one PostgreSQL 15 for a whole test run.
//
// ctest runs each test case in a process of its own; without this, every PostgreSQL case would
// copy a cluster, start a server and shut it down. scripts/test starts this program as a
// coprocess, reads the port from its first line of output and exports it as
// DORSET_TEST_POSTGRES_PORT, which PostgresServer::Shared() attaches to (postgres_server.h).
// SIGTERM, SIGINT or the end of stdin stops the server (a fast shutdown) and removes its
// cluster; if this program is killed outright, the server dies with it (parent-death signal).
//
//   coproc PG { exec build/test/runtime/dorset-test-postgres; }
//   read -r port <&"${PG[0]}"; export DORSET_TEST_POSTGRES_PORT=$port
//   ctest ...; kill -TERM "$PG_PID"; wait "$PG_PID"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <memory>

#include "runtime/testing/postgres_server.h"

namespace {

int wake_pipe[2] = {-1, -1};

void OnStopSignal(int) {
  const char byte = 0;
  (void)!write(wake_pipe[1], &byte, 1);  // async-signal-safe; the main loop sees it in poll
}

// Until a stop signal arrives or stdin ends. A signal rather than only stdin's end, because a
// process a test left running may hold the pipe's write end and the end would never come.
void WaitForStop() {
  pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {wake_pipe[0], POLLIN, 0}};
  char ignored[256];
  for (;;) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    if (fds[0].revents != 0 && read(STDIN_FILENO, ignored, sizeof ignored) <= 0) return;
  }
}

}  // namespace

int main() {
  if (pipe2(wake_pipe, O_CLOEXEC) != 0) return 1;
  struct sigaction stop = {};
  stop.sa_handler = OnStopSignal;
  sigemptyset(&stop.sa_mask);
  for (int signal : {SIGTERM, SIGINT, SIGHUP}) sigaction(signal, &stop, nullptr);

  absl::StatusOr<std::unique_ptr<dorset::testing::PostgresServer>> server =
      dorset::testing::PostgresServer::Start();
  if (!server.ok()) {
    std::fprintf(stderr, "dorset-test-postgres: %s\n", server.status().ToString().c_str());
    return 1;
  }
  std::printf("%d\n", (*server)->port());
  std::fflush(stdout);
  WaitForStop();
  return 0;  // the server's destructor stops it and removes its directory
}
