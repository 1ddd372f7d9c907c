// The engine environment of every engagement test binary: DORSET_TEST_ENGINE=postgres (the
// …/postgres copy of every case, tests/engagement/CMakeLists.txt) needs the PostgreSQL harness;
// without it every case skips locally and fails under CI=true (a skip is a failure there).
#include <cstdlib>
#include <string>

#include "gtest/gtest.h"
#include "runtime/testing/test_engine.h"

namespace dorset::engagement::testing {
namespace {

class EngineEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    if (!dorset::testing::TestEngineIsPostgres()) return;
    absl::StatusOr<std::string> database = dorset::testing::TestDatabaseFor("<probe>");
    if (database.ok()) return;
    const char* ci = std::getenv("CI");
    if (ci != nullptr && std::string(ci) == "true") {
      FAIL() << "no PostgreSQL: " << database.status();
    }
    GTEST_SKIP() << "no PostgreSQL (" << database.status() << "); CI=true would fail";
  }
};

[[maybe_unused]] ::testing::Environment* const kEngineEnvironment =
    ::testing::AddGlobalTestEnvironment(new EngineEnvironment);

}  // namespace
}  // namespace dorset::engagement::testing
