// Durability on the engine of this test run (…/sqlite, …/postgres): the real dorset-registry
// binary is killed with SIGKILL while clients create practices, then started again on the same
// store (data directory or PostgreSQL database). Every acknowledged practice must be there
// exactly once, with exactly one change each, in a change feed without gaps.
#include <signal.h>

#include "gtest/gtest.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_host.h"
#include "tests/registry/registry_process.h"
#include "tests/registry/write_load.h"

namespace dorset::registry::testing {
namespace {

TEST(RegistryCrash, KilledMidLoadKeepsEveryAcknowledgedWriteOnce) {
  dorset::testing::TempDir dir;
  int acked = 0;
  {
    RegistryProcess server(dir.path());
    ASSERT_TRUE(server.WaitReady());
    auto stub = v1::RegistryService::NewStub(dorset::testing::LocalChannel(server.port()));
    WriteLoad load(*stub, 4, "crash");
    EXPECT_TRUE(WaitFor([&] { return load.acked() >= 80; }));
    server.Signal(SIGKILL);
    EXPECT_EQ(server.WaitExit(absl::Seconds(30)), 128 + SIGKILL);
    load.Stop();
    EXPECT_EQ(load.other(), 0);
    acked = load.acked();

    RegistryProcess restarted(dir.path());
    ASSERT_TRUE(restarted.WaitReady());
    auto after = v1::RegistryService::NewStub(dorset::testing::LocalChannel(restarted.port()));
    load.ExpectEveryAckedWriteOnce(*after);
  }
  EXPECT_GE(acked, 80);
}

}  // namespace
}  // namespace dorset::registry::testing
