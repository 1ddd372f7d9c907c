// The committed echo (bench/committed_echo) divides the benchmarks' writes into the group
// commit's share and the services' own: it must really answer after a commit of its group,
// one row a call in --commit=row and none in --commit=empty, on the engine of this run
// (DORSET_TEST_ENGINE, runtime/testing/test_engine.h).
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/committed_echo/committed_echo_module.h"
#include "dorset/bench/v1/echo.grpc.pb.h"
#include "gtest/gtest.h"
#include "runtime/server/service_host.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_engine.h"
#include "runtime/testing/test_host.h"

namespace dorset::bench {
namespace {

class CommittedEchoTest : public ::testing::Test {
 protected:
  void Start(CommitMode mode) {
    runtime::ServerConfig config = dorset::testing::TestServerConfig("committed-echo", dir_.path());
    absl::StatusOr<std::string> database = dorset::testing::TestDatabaseFor(config.data_dir);
    ASSERT_TRUE(database.ok()) << database.status();
    config.database = *database;
    auto host = runtime::ServiceHost::Start(config, std::make_unique<CommittedEchoModule>(mode));
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = *std::move(host);
  }
  CommittedEchoModule& module() { return static_cast<CommittedEchoModule&>(host_->module()); }

  // `threads` clients, `calls` Echo each, at once (so groups hold several); returns the calls
  // answered OK with their own message.
  int EchoFromThreads(int threads, int calls) {
    std::atomic<int> ok{0};
    std::vector<std::thread> clients;
    for (int t = 0; t < threads; ++t) {
      clients.emplace_back([&, t] {
        auto stub = v1::EchoService::NewStub(dorset::testing::LocalChannel(host_->grpc_port()));
        for (int i = 0; i < calls; ++i) {
          grpc::ClientContext context;
          v1::EchoRequest request;
          request.set_message(absl::StrCat("client ", t, " call ", i));
          v1::EchoResponse reply;
          const grpc::Status status = stub->Echo(&context, request, &reply);
          if (status.ok() && reply.message() == request.message()) ++ok;
        }
      });
    }
    for (std::thread& client : clients) client.join();
    return ok.load();
  }

  dorset::testing::TempDir dir_;
  std::unique_ptr<runtime::ServiceHost> host_;
};

TEST_F(CommittedEchoTest, RowModeWritesOneRowForEveryCallAnswered) {
  ASSERT_NO_FATAL_FAILURE(Start(CommitMode::kRow));
  EXPECT_EQ(EchoFromThreads(4, 25), 100);
  absl::StatusOr<int64_t> rows = module().RowsWritten();
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(*rows, 100);
}

TEST_F(CommittedEchoTest, EmptyModeAnswersEveryCallAndWritesNothing) {
  ASSERT_NO_FATAL_FAILURE(Start(CommitMode::kEmpty));
  EXPECT_EQ(EchoFromThreads(4, 25), 100);
  absl::StatusOr<int64_t> rows = module().RowsWritten();
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(*rows, 0);
}

TEST(CommitModeTest, NamesTheFlagForAnUnknownMode) {
  EXPECT_EQ(*ParseCommitMode("row"), CommitMode::kRow);
  EXPECT_EQ(*ParseCommitMode("empty"), CommitMode::kEmpty);
  absl::StatusOr<CommitMode> bad = ParseCommitMode("fast");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("--commit"), std::string::npos);
}

}  // namespace
}  // namespace dorset::bench
