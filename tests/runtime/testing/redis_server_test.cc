// runtime/testing's RedisServer does not hold on to the test's output: a test binary that dies
// without running destructors (an ASan abort) leaves its redis-server behind, and that server
// must not keep the test's stderr open, or ctest waits on the pipe past its timeout (what made
// gateway_e2e_test "time out" when it was really an ASan report).
#include "runtime/testing/redis_server.h"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace dorset::testing {
namespace {

TEST(RedisServerTest, AServerLeftBehindByACrashDoesNotHoldTheTestsOutput) {
  int out[2], err[2];
  ASSERT_EQ(pipe(out), 0);
  ASSERT_EQ(pipe(err), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The "test binary": its stdout and stderr are pipes, as under ctest.
    dup2(out[1], STDOUT_FILENO);
    dup2(err[1], STDERR_FILENO);
    close(out[0]);
    close(out[1]);
    close(err[0]);
    close(err[1]);
    auto redis = RedisServer::Start();
    if (!redis.ok()) _exit(3);
    std::printf("%d\n", (*redis)->port());
    std::fflush(stdout);
    _exit(1);  // no destructors, as after an abort
  }
  close(out[1]);
  close(err[1]);
  char line[32] = {};
  ASSERT_GT(read(out[0], line, sizeof(line) - 1), 0);
  int port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(line), &port)) << line;
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 1);
  // Both pipes reach end of file although the server still runs (generous bound).
  bool eof_out = false, eof_err = false;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while ((!eof_out || !eof_err) && absl::Now() < deadline) {
    pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    poll(fds, 2, 200);
    char buffer[256];
    if (!eof_out && (fds[0].revents & (POLLIN | POLLHUP))) eof_out = read(out[0], buffer, 256) == 0;
    if (!eof_err && (fds[1].revents & (POLLIN | POLLHUP))) eof_err = read(err[0], buffer, 256) == 0;
  }
  // The orphan goes now, whatever the outcome.
  const std::string shutdown =
      "redis-cli -p " + std::to_string(port) + " shutdown nosave >/dev/null 2>&1";
  EXPECT_NE(std::system(shutdown.c_str()), -1);
  close(out[0]);
  close(err[0]);
  EXPECT_TRUE(eof_out) << "the orphaned redis-server holds the test's stdout";
  EXPECT_TRUE(eof_err) << "the orphaned redis-server holds the test's stderr";
}

}  // namespace
}  // namespace dorset::testing
