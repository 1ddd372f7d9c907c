// dorset-engagement-synth on the `database` setting, on each engine: the real binary writes its
// synthetic responses into the store the flag names (a PostgreSQL database on the postgres run),
// not into an SQLite file under --data_dir; a bad setting is refused naming it.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_engine.h"
#include "services/engagement/domain/engagement.h"

namespace dorset::engagement {
namespace {

// Runs the binary with `args`; its exit status, its output in `output`.
int RunSynth(const std::string& args, const std::string& log, std::string* output) {
  const int status =
      std::system(absl::StrCat(DORSET_SYNTH_BINARY, " ", args, " >", log, " 2>&1").c_str());
  std::ifstream in(log);
  output->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(EngagementSynth, WritesIntoTheStoreTheDatabaseSettingNames) {
  dorset::testing::TempDir dir;
  const std::string data_dir = dir.path() + "/synth";
  absl::StatusOr<std::string> database = dorset::testing::TestDatabaseFor(data_dir);
  ASSERT_TRUE(database.ok()) << database.status();
  std::string output;
  ASSERT_EQ(RunSynth(absl::StrCat("--data_dir=", data_dir, " --database='", *database,
                                  "' --activity=synth-db --count=500 --themes=2 --seed=3"),
                     dir.path() + "/synth.log", &output),
            0)
      << output;
  // On PostgreSQL nothing was written under the data directory's SQLite file.
  EXPECT_EQ(std::filesystem::exists(data_dir + "/engagement.db"),
            !dorset::testing::TestEngineIsPostgres())
      << output;

  auto store = EngagementStore::Open(*database, data_dir);
  ASSERT_TRUE(store.ok()) << store.status();
  Engagement engagement(**store, nullptr, runtime::PageTokenCodec(std::string(32, 'k')));
  v1::GetActivityAggregatesRequest request;
  request.set_name("activities/synth-db/aggregates");
  v1::ActivityAggregates aggregates;
  ASSERT_TRUE(engagement.aggregates().GetActivityAggregates(request, &aggregates).ok());
  EXPECT_EQ(aggregates.total_responses(), 500);
}

TEST(EngagementSynth, ABadDatabaseSettingIsRefusedNamingIt) {
  dorset::testing::TempDir dir;
  std::string output;
  EXPECT_NE(RunSynth(absl::StrCat("--data_dir=", dir.path(), " --database=mysql://x/y --count=1"),
                     dir.path() + "/synth.log", &output),
            0);
  EXPECT_NE(output.find("database"), std::string::npos) << output;
}

}  // namespace
}  // namespace dorset::engagement
