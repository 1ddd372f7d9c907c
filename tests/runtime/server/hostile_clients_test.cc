// Hostile clients on both ports (issue 10, item 6): idle sockets, sockets that drip one byte at
// a time, and more connections than the ops server holds. /livez and gRPC health must keep
// answering throughout (within generous deadlines: this asserts liveness, not speed).
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "bench/echo/echo_module.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "runtime/server/service_host.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_host.h"

namespace dorset::runtime {
namespace {

int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Connects to `port` and sends `text` one byte every `every`, reconnecting whenever the server
// closes the socket, until stopped: a slowloris that never gives up.
class Dripper {
 public:
  Dripper(int port, std::string text, absl::Duration every)
      : thread_([this, port, text = std::move(text), every] {
          while (!stop_.load()) {
            const int fd = Connect(port);
            if (fd < 0) {
              absl::SleepFor(every);
              continue;
            }
            for (size_t i = 0; !stop_.load(); i = (i + 1) % text.size()) {
              if (send(fd, &text[i], 1, MSG_NOSIGNAL) != 1) break;
              absl::SleepFor(every);
            }
            close(fd);
          }
        }) {}
  ~Dripper() {
    stop_.store(true);
    thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST(HostileClients, IdleAndDrippingSocketsDoNotStopLivezOrGrpcHealth) {
  dorset::testing::TempDir dir;
  auto host = ServiceHost::Start(dorset::testing::TestServerConfig("echo", dir.path()),
                                 std::make_unique<bench::EchoModule>());
  ASSERT_TRUE(host.ok()) << host.status();
  const int ops_port = (*host)->ops_port();
  const int grpc_port = (*host)->grpc_port();

  // More idle connections than the ops server keeps, and some on the gRPC port.
  std::vector<int> idle;
  for (int i = 0; i < 100; ++i) idle.push_back(Connect(ops_port));
  for (int i = 0; i < 20; ++i) idle.push_back(Connect(grpc_port));
  {
    std::vector<std::unique_ptr<Dripper>> drippers;
    for (int i = 0; i < 4; ++i) {
      drippers.push_back(std::make_unique<Dripper>(
          ops_port, "GET /livez HTTP/1.1\r\nHost: x\r\nX-Slow: ", absl::Milliseconds(500)));
      drippers.push_back(std::make_unique<Dripper>(grpc_port, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
                                                   absl::Milliseconds(500)));
    }
    absl::SleepFor(absl::Milliseconds(500));  // the attack is under way

    auto stub = grpc::health::v1::Health::NewStub(dorset::testing::LocalChannel(grpc_port));
    const absl::Time end = absl::Now() + absl::Seconds(8);  // longer than the ops deadline
    int probes = 0;
    while (absl::Now() < end) {
      httplib::Client client("127.0.0.1", ops_port);
      client.set_connection_timeout(20, 0);
      client.set_read_timeout(20, 0);
      auto livez = client.Get("/livez");
      ASSERT_TRUE(livez) << "probe " << probes << ": " << httplib::to_string(livez.error());
      EXPECT_EQ(livez->status, 200);
      EXPECT_EQ(livez->body, "ok\n");

      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
      grpc::health::v1::HealthCheckRequest request;
      grpc::health::v1::HealthCheckResponse response;
      const grpc::Status health = stub->Check(&context, request, &response);
      ASSERT_TRUE(health.ok()) << "probe " << probes << ": " << health.error_message();
      EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
      ++probes;
      absl::SleepFor(absl::Milliseconds(200));
    }
    EXPECT_GT(probes, 5);
  }
  for (int fd : idle) {
    if (fd >= 0) close(fd);
  }
  (*host)->Shutdown();  // returns although hostile sockets were open
}

}  // namespace
}  // namespace dorset::runtime
