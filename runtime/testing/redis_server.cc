#include "runtime/testing/redis_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace dorset::testing {

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Start(
    std::vector<std::string> extra_args) {
  std::unique_ptr<RedisServer> server(new RedisServer());  // private constructor
  server->extra_args_ = std::move(extra_args);
  server->port_ = FreePort();
  if (absl::Status s = server->Launch(); !s.ok()) return s;
  return server;
}

absl::Status RedisServer::Launch() {
  const std::string port = std::to_string(port_);
  const std::string log = dir_.path() + "/redis-server.log";
  pid_ = fork();
  if (pid_ == 0) {
    // Redis prints a banner before it reads --loglevel; keep test output readable. Neither
    // stream is the test's: a server left behind by a crashed test must not hold ctest's pipe.
    const int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) dup2(devnull, STDOUT_FILENO);
    const int errors = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (errors >= 0) dup2(errors, STDERR_FILENO);
    std::vector<std::string> args = {
        "redis-server", "--port", port,           "--bind", "127.0.0.1",  "--dir",  dir_.path(),
        "--save",       "",       "--appendonly", "no",     "--loglevel", "warning"};
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execvp("redis-server", argv.data());
    _exit(127);
  }
  if (pid_ < 0) return absl::InternalError("fork failed");
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    if (Cli("PING").rfind("PONG", 0) == 0) return absl::OkStatus();
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::UnavailableError("redis-server exited at start (is it installed?)");
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError("redis-server did not answer PING within 10 s");
}

std::string RedisServer::Cli(const std::string& args) const {
  // The password goes through the environment, not the command line (REDISCLI_AUTH).
  const std::string auth =
      cli_user_.empty() ? "" : absl::StrCat("REDISCLI_AUTH='", cli_password_, "' ");
  const std::string user = cli_user_.empty() ? "" : absl::StrCat("--user ", cli_user_, " ");
  const std::string command =
      absl::StrCat(auth, "redis-cli -h 127.0.0.1 -p ", port_, " ", user, args, " 2>/dev/null");
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) out.append(buffer.data(), n);
  pclose(pipe);
  return out;
}

void RedisServer::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void RedisServer::Pause() {
  if (pid_ > 0) kill(pid_, SIGSTOP);
}

void RedisServer::Resume() {
  if (pid_ > 0) kill(pid_, SIGCONT);
}

absl::Status RedisServer::Restart() {
  Kill();
  return Launch();
}

RedisServer::~RedisServer() { Kill(); }

}  // namespace dorset::testing
