// Durability, on each engine: the real dorset-engagement binary is killed with SIGKILL while
// clients send responses, then restarted on the same store (data directory or PostgreSQL
// database) while the clients send what had no answer again with the same request ids. Every
// acknowledged response must be there exactly once, nothing stored twice, and the counters must
// agree with the rows.
#include <signal.h>
#include <sys/wait.h>

#include <memory>

#include "gtest/gtest.h"
#include "runtime/testing/redis_server.h"  // FreePort
#include "runtime/testing/server_process.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_engine.h"
#include "runtime/testing/test_host.h"
#include "tests/engagement/response_load.h"

namespace dorset::engagement {
namespace {

using testing::ResponseLoad;
using testing::WaitUntil;

// The server as a child process (runtime/testing/server_process.h), ready once it answers.
class Child : public dorset::testing::ServerProcess {
 public:
  Child(const std::string& data_dir, int port, const std::string& database)
      : ServerProcess(DORSET_ENGAGEMENT_BINARY, data_dir, port, database) {}
  bool WaitReady(v1::EngagementService::Stub& stub) {
    return ServerProcess::WaitReady([&] {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
      v1::GetActivityRequest request;
      request.set_name("activities/improving-dorsets-healthcare");  // the seed
      v1::Activity activity;
      return stub.GetActivity(&context, request, &activity).ok();
    });
  }
};

TEST(EngagementCrash, EveryAcknowledgedResponseSurvivesSigkillExactlyOnce) {
  dorset::testing::TempDir dir;
  absl::StatusOr<std::string> database = dorset::testing::TestDatabaseFor(dir.path());
  ASSERT_TRUE(database.ok()) << database.status();
  const int port = dorset::testing::FreePort();
  auto child = std::make_unique<Child>(dir.path(), port, *database);
  auto stub = v1::EngagementService::NewStub(dorset::testing::LocalChannel(port));
  ASSERT_TRUE(child->WaitReady(*stub)) << "server did not start";
  testing::OpenLoadActivity(*stub, "crash-load");

  ResponseLoad load(stub.get(), "crash-load", 6, "crash");
  EXPECT_TRUE(WaitUntil([&] { return load.acked() >= 200; }));
  const int killed = child->Signal(SIGKILL);
  EXPECT_TRUE(WIFSIGNALED(killed) && WTERMSIG(killed) == SIGKILL);
  const int acked_at_kill = load.acked();
  // The clients keep sending (refused UNAVAILABLE) until the server is back on the same store.
  child = std::make_unique<Child>(dir.path(), port, *database);
  ASSERT_TRUE(child->WaitReady(*stub)) << "server did not restart";
  EXPECT_TRUE(WaitUntil([&] { return load.acked() >= acked_at_kill + 60; }));
  load.Stop();
  EXPECT_EQ(load.other(), 0);
  EXPECT_GT(load.unavailable(), 0);
  load.ExpectEveryAckedResponseOnce(*stub);

  const int stopped = child->Signal(SIGTERM);
  EXPECT_TRUE(WIFEXITED(stopped) && WEXITSTATUS(stopped) == 0);
}

}  // namespace
}  // namespace dorset::engagement
