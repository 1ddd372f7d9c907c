// The real server binaries as child processes: they start, report SERVING, answer reflection
// and /metrics, and on SIGTERM go NOT_SERVING, let an in-flight call finish, and exit 0.
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "dorset/bench/v1/echo.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "runtime/testing/redis_server.h"
#include "runtime/testing/temp_dir.h"

namespace dorset {
namespace {

using grpc::health::v1::HealthCheckResponse;

class ServerProcess {
 public:
  ServerProcess(const std::string& binary, const std::string& data_dir,
                std::vector<std::string> extra = {}) {
    grpc_port_ = testing::FreePort();
    ops_port_ = testing::FreePort();
    std::vector<std::string> args = {binary,
                                     absl::StrCat("--grpc_listen=127.0.0.1:", grpc_port_),
                                     absl::StrCat("--ops_listen=127.0.0.1:", ops_port_),
                                     "--data_dir=" + data_dir,
                                     "--plaintext=true",
                                     "--auth=none",
                                     "--log_level=warn"};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = fork();
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  ~ServerProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  std::shared_ptr<grpc::Channel> Channel() {
    return grpc::CreateChannel(absl::StrCat("127.0.0.1:", grpc_port_),
                               grpc::InsecureChannelCredentials());
  }
  HealthCheckResponse::ServingStatus Health(const std::string& name) {
    auto stub = grpc::health::v1::Health::NewStub(Channel());
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(name);
    HealthCheckResponse response;
    if (!stub->Check(&context, request, &response).ok()) return HealthCheckResponse::UNKNOWN;
    return response.status();
  }
  bool WaitServing(const std::string& name) {
    for (int i = 0; i < 200; ++i) {
      if (Health(name) == HealthCheckResponse::SERVING) return true;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return false;
  }
  // Waits for exit; returns the exit code, or -1 on timeout / signal.
  int WaitExit(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    return -1;
  }
  void Signal(int sig) { kill(pid_, sig); }
  int ops_port() const { return ops_port_; }

 private:
  pid_t pid_ = -1;
  int grpc_port_ = 0;
  int ops_port_ = 0;
};

TEST(ServerProcessTest, SigtermDrainsLetsTheInFlightCallFinishAndExitsZero) {
  testing::TempDir dir;
  ServerProcess server(DORSET_ECHO_BINARY, dir.path(), {"--drain_seconds=1"});
  ASSERT_TRUE(server.WaitServing("dorset.bench.v1.EchoService"));

  auto stub = bench::v1::EchoService::NewStub(server.Channel());
  grpc::ClientContext context;
  bench::v1::EchoRequest request;
  request.set_message("in flight");
  request.set_delay_ms(2500);
  bench::v1::EchoResponse response;
  std::atomic<bool> done{false};
  grpc::Status call_status;
  stub->async()->Echo(&context, &request, &response, [&](grpc::Status s) {
    call_status = s;
    done = true;
  });
  absl::SleepFor(absl::Milliseconds(300));  // the call is now inside the handler
  server.Signal(SIGTERM);

  // During the drain, readiness is NOT_SERVING while liveness stays SERVING.
  bool saw_not_ready = false;
  for (int i = 0; i < 40 && !saw_not_ready; ++i) {
    saw_not_ready =
        server.Health("dorset.bench.v1.EchoService") == HealthCheckResponse::NOT_SERVING;
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_TRUE(saw_not_ready);
  httplib::Client ops("127.0.0.1", server.ops_port());
  auto readyz = ops.Get("/readyz");
  if (readyz) {
    EXPECT_EQ(readyz->status, 503);
  }

  EXPECT_EQ(server.WaitExit(absl::Seconds(15)), 0);
  for (int i = 0; i < 100 && !done; ++i) absl::SleepFor(absl::Milliseconds(20));
  ASSERT_TRUE(done);
  EXPECT_TRUE(call_status.ok()) << call_status.error_message();
  EXPECT_EQ(response.message(), "in flight");
}

TEST(ServerProcessTest, BadConfigurationExitsTwoWithoutStarting) {
  const pid_t pid = fork();
  if (pid == 0) {
    execl(DORSET_ECHO_BINARY, DORSET_ECHO_BINARY, "--auth=none", static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);  // plaintext not chosen and no certificate
}

struct ServiceBinary {
  const char* path;
  const char* health_name;
};

class ServiceBinaryTest : public ::testing::TestWithParam<ServiceBinary> {};

TEST_P(ServiceBinaryTest, StartsServesHealthAndMetricsAndStopsCleanly) {
  testing::TempDir dir;
  auto redis = testing::RedisServer::Start();
  ASSERT_TRUE(redis.ok()) << redis.status();
  const absl::Time start = absl::Now();
  ServerProcess server(GetParam().path, dir.path(),
                       {"--redis=" + (*redis)->address(), "--drain_seconds=0"});
  ASSERT_TRUE(server.WaitServing(GetParam().health_name));
  ASSERT_TRUE(server.WaitServing(""));
  const absl::Duration to_serving = absl::Now() - start;
  std::cout << GetParam().path << " SERVING after " << absl::FormatDuration(to_serving) << "\n";

  httplib::Client ops("127.0.0.1", server.ops_port());
  auto readyz = ops.Get("/readyz");
  ASSERT_TRUE(readyz);
  EXPECT_EQ(readyz->status, 200) << readyz->body;
  auto metrics = ops.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->get_header_value("Content-Type").find("version=0.0.4"), std::string::npos);
  EXPECT_NE(metrics->body.find("grpc_server_handled_total"),
            std::string::npos);  // the health calls

  // Redis going away degrades the cache but never readiness (or liveness).
  (*redis)->Kill();
  absl::SleepFor(absl::Milliseconds(2500));
  EXPECT_EQ(server.Health(GetParam().health_name), HealthCheckResponse::SERVING);
  auto degraded = ops.Get("/readyz");
  ASSERT_TRUE(degraded);
  EXPECT_EQ(degraded->status, 200);
  EXPECT_NE(degraded->body.find("degraded"), std::string::npos) << degraded->body;

  server.Signal(SIGTERM);
  EXPECT_EQ(server.WaitExit(absl::Seconds(15)), 0);
}

// Issue 10 item 2, for grpc.health.v1 Watch (the one stream every service has): 200 watches
// read once and cancelled, then SIGTERM with one watch open and one just cancelled; the open one
// sees NOT_SERVING and ends, and the process exits 0 within a generous deadline.
TEST_P(ServiceBinaryTest, CancelledAndOpenHealthWatchesDoNotHoldUpSigterm) {
  testing::TempDir dir;
  ServerProcess server(GetParam().path, dir.path(), {"--drain_seconds=0"});
  ASSERT_TRUE(server.WaitServing(GetParam().health_name));
  auto stub = grpc::health::v1::Health::NewStub(server.Channel());
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(GetParam().health_name);
  HealthCheckResponse response;
  for (int i = 0; i < 200; ++i) {
    grpc::ClientContext context;
    auto reader = stub->Watch(&context, request);
    ASSERT_TRUE(reader->Read(&response)) << "watch " << i;
    EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
    context.TryCancel();
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED) << "watch " << i;
  }
  grpc::ClientContext open_context;
  open_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  auto open_reader = stub->Watch(&open_context, request);
  ASSERT_TRUE(open_reader->Read(&response));
  grpc::ClientContext cancelled_context;
  auto cancelled_reader = stub->Watch(&cancelled_context, request);
  ASSERT_TRUE(cancelled_reader->Read(&response));
  cancelled_context.TryCancel();

  server.Signal(SIGTERM);
  bool saw_not_serving = false;
  while (open_reader->Read(&response)) {
    saw_not_serving = saw_not_serving || response.status() == HealthCheckResponse::NOT_SERVING;
  }
  EXPECT_TRUE(saw_not_serving);
  (void)open_reader->Finish();
  (void)cancelled_reader->Finish();
  EXPECT_EQ(server.WaitExit(absl::Seconds(60)), 0);
}

INSTANTIATE_TEST_SUITE_P(
    AllServices, ServiceBinaryTest,
    ::testing::Values(ServiceBinary{DORSET_REGISTRY_BINARY, "dorset.registry.v1.RegistryService"},
                      ServiceBinary{DORSET_FINANCE_BINARY, "dorset.finance.v1.FinanceService"},
                      ServiceBinary{DORSET_ENGAGEMENT_BINARY,
                                    "dorset.engagement.v1.EngagementService"}),
    [](const auto& info) {
      std::string name = info.param.health_name;
      return name.substr(7, name.find(".v1") - 7);
    });

}  // namespace
}  // namespace dorset
