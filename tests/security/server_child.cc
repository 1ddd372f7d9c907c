#include "tests/security/server_child.h"

#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "runtime/testing/redis_server.h"

namespace dorset::testing {

ServerChild::ServerChild(std::string binary, std::string data_dir, std::vector<std::string> extra)
    : binary_(std::move(binary)), data_dir_(std::move(data_dir)), extra_(std::move(extra)) {
  grpc_port_ = FreePort();
  ops_port_ = FreePort();
  Launch();
}

ServerChild::~ServerChild() {
  if (pid_ > 0) Kill();
}

void ServerChild::Launch() {
  std::vector<std::string> args = {binary_,
                                   absl::StrCat("--grpc_listen=127.0.0.1:", grpc_port_),
                                   absl::StrCat("--ops_listen=127.0.0.1:", ops_port_),
                                   "--data_dir=" + data_dir_,
                                   "--plaintext=true",
                                   "--auth=none",
                                   "--rate_limit_per_second=0",
                                   "--drain_seconds=0",
                                   "--log_level=warn"};
  args.insert(args.end(), extra_.begin(), extra_.end());
  const std::string log = data_dir_ + "/server.log";
  pid_ = fork();
  if (pid_ == 0) {
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    signal(SIGXFSZ, SIG_IGN);  // kept across exec: writes past a size limit fail, not kill
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
}

void ServerChild::Restart() {
  if (pid_ > 0) Kill();
  Launch();
}

void ServerChild::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void ServerChild::Signal(int sig) {
  if (pid_ > 0) kill(pid_, sig);
}

int ServerChild::WaitExit(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (pid_ > 0 && absl::Now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return -1;
}

bool ServerChild::LimitFileSize(rlim_t bytes) {
  struct rlimit old_limit;
  if (prlimit(pid_, RLIMIT_FSIZE, nullptr, &old_limit) != 0) return false;
  struct rlimit limit = {bytes, old_limit.rlim_max};
  return prlimit(pid_, RLIMIT_FSIZE, &limit, nullptr) == 0;
}

std::shared_ptr<grpc::Channel> ServerChild::Channel() const {
  return grpc::CreateChannel(absl::StrCat("127.0.0.1:", grpc_port_),
                             grpc::InsecureChannelCredentials());
}

grpc::health::v1::HealthCheckResponse::ServingStatus ServerChild::Health(
    const std::string& name) const {
  auto stub = grpc::health::v1::Health::NewStub(Channel());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(name);
  grpc::health::v1::HealthCheckResponse response;
  if (!stub->Check(&context, request, &response).ok()) {
    return grpc::health::v1::HealthCheckResponse::UNKNOWN;
  }
  return response.status();
}

bool ServerChild::WaitServing(const std::string& name, absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (Health(name) == grpc::health::v1::HealthCheckResponse::SERVING) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return false;
}

std::pair<int, std::string> ServerChild::Ops(const std::string& path) const {
  httplib::Client ops("127.0.0.1", ops_port_);
  ops.set_connection_timeout(2);
  ops.set_read_timeout(5);
  auto result = ops.Get(path.c_str());
  if (!result) return {0, ""};
  return {result->status, result->body};
}

std::string ServerChild::Log() const {
  std::ifstream in(data_dir_ + "/server.log");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace dorset::testing
