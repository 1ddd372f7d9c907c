// The registry while its PostgreSQL server is killed with kill -9 under a write load and
// restarted: the service stays up, its store reports UNAVAILABLE (readiness NOT_SERVING) and
// writes are refused with UNAVAILABLE while the server is away, it reconnects by itself, and
// afterwards every acknowledged practice is there exactly once, with one change each in a feed
// without gaps. ctest label `postgres_only`: SQLite has no server to lose.
#include <atomic>
#include <map>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "runtime/server/service_host.h"
#include "runtime/testing/postgres_server.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_host.h"
#include "services/registry/registry_module.h"
#include "tests/registry/registry_test_env.h"
#include "tests/registry/write_load.h"
#include "tests/runtime/storage/engines.h"

namespace dorset::registry {
namespace {

using testing::WaitFor;

TEST(RegistryPostgresFault, ServerKilledMidLoadMeansUnavailableThenEveryAckedWriteOnce) {
  DORSET_REQUIRE_POSTGRES(dorset::testing::PostgresServer::Start(), pg);
  absl::StatusOr<std::string> uri = pg->CreateDatabase();
  ASSERT_TRUE(uri.ok()) << uri.status();
  dorset::testing::TempDir dir;
  runtime::ServerConfig config = dorset::testing::TestServerConfig("registry", dir.path());
  config.database = *uri;
  auto module = std::make_unique<RegistryModule>();
  RegistryModule* registry = module.get();
  auto host = runtime::ServiceHost::Start(config, std::move(module));
  ASSERT_TRUE(host.ok()) << host.status();
  auto stub = v1::RegistryService::NewStub(dorset::testing::LocalChannel((*host)->grpc_port()));

  testing::WriteLoad load(*stub, 4);
  EXPECT_TRUE(WaitFor([&] { return load.acked() >= 60; }));
  pg->Kill9();
  // While the server is away: the store says so and writes are refused as UNAVAILABLE.
  EXPECT_TRUE(WaitFor([&] { return !registry->CheckStore().ok(); }));
  EXPECT_EQ(registry->CheckStore().code(), absl::StatusCode::kUnavailable);
  const int unavailable_before = load.unavailable();
  EXPECT_TRUE(WaitFor([&] { return load.unavailable() > unavailable_before; }));
  const int acked_while_down = load.acked();
  ASSERT_TRUE(pg->Restart().ok());
  // Back by itself: healthy again, and writes are acknowledged again.
  EXPECT_TRUE(WaitFor([&] { return registry->CheckStore().ok(); }));
  EXPECT_TRUE(WaitFor([&] { return load.acked() >= acked_while_down + 60; }));
  load.Stop();
  EXPECT_EQ(load.other(), 0);
  EXPECT_GT(load.unavailable(), 0);
  load.ExpectEveryAckedWriteOnce(*stub);
}

// PostgreSQL away when the registry starts: it starts anyway (no crash loop), NOT_SERVING and
// refusing calls with UNAVAILABLE, and serves once the server is back (migrated at first contact).
TEST(RegistryPostgresFault, ServerAwayAtStartMeansNotServingThenServing) {
  DORSET_REQUIRE_POSTGRES(dorset::testing::PostgresServer::Start(), pg);
  absl::StatusOr<std::string> uri = pg->CreateDatabase();
  ASSERT_TRUE(uri.ok()) << uri.status();
  pg->Stop();
  dorset::testing::TempDir dir;
  runtime::ServerConfig config = dorset::testing::TestServerConfig("registry", dir.path());
  config.database = *uri;
  auto module = std::make_unique<RegistryModule>();
  RegistryModule* registry = module.get();
  auto host = runtime::ServiceHost::Start(config, std::move(module));
  ASSERT_TRUE(host.ok()) << host.status();  // started: no crash loop
  EXPECT_EQ(registry->CheckStore().code(), absl::StatusCode::kUnavailable);
  auto stub = v1::RegistryService::NewStub(dorset::testing::LocalChannel((*host)->grpc_port()));
  const auto list = [&] {
    grpc::ClientContext context;
    v1::ListPracticesResponse page;
    return stub->ListPractices(&context, {}, &page);
  };
  EXPECT_EQ(list().error_code(), grpc::StatusCode::UNAVAILABLE);

  ASSERT_TRUE(pg->Restart().ok());
  EXPECT_TRUE(WaitFor([&] { return registry->CheckStore().ok(); }));
  const grpc::Status status = list();
  EXPECT_TRUE(status.ok()) << status.error_message();
}

}  // namespace
}  // namespace dorset::registry
