// The engagement store's generations (EngagementStore::generation, activity_generation) with the
// DataVersionFollower running, on both engines (issue 16): this process's own commits — a group
// of responses through a StoreCommitter (Changes::kResponses), a write through
// EngagementStore::Write — raise them exactly once each, never a second time when the follower
// learns of the same commit (its notification on PostgreSQL, its poll on SQLite; the test waits
// out both); another store on the same database (another replica) writing still raises both
// promptly, also when this process commits a group of responses right after it (whose own
// advance leaves the activities' generation).
#include <functional>
#include <string>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "runtime/testing/temp_dir.h"
#include "services/engagement/storage/store.h"
#include "services/engagement/storage/store_committer.h"
#include "tests/runtime/storage/engines.h"

namespace dorset::engagement {
namespace {

using runtime::storage::Engine;

struct Job {
  std::function<void(const absl::Status&)> done;
};

absl::Status Commit(StoreCommitter<Job>& committer) {
  absl::Notification done;
  absl::Status out;
  committer.Submit(Job{.done = [&](const absl::Status& status) {
    out = status;
    done.Notify();
  }});
  done.WaitForNotification();
  return out;
}

// A write that changes nothing but the data version (as an activity's edit would).
absl::Status Touch(EngagementStore& store) {
  return store.Write([](StoreTx&) { return absl::OkStatus(); });
}

template <typename Fn>
bool Eventually(Fn done) {
  const absl::Time start = absl::Now();
  while (!done() && absl::Now() - start < absl::Seconds(10)) absl::SleepFor(absl::Milliseconds(2));
  return done();
}

class EngagementGenerationTest : public ::testing::TestWithParam<Engine> {};

TEST_P(EngagementGenerationTest, OwnCommitsRaiseOnceAndOtherWritersStillDo) {
  dorset::testing::TempDir dir;
  std::string database;
  DORSET_DATABASE_FOR_ENGINE(GetParam(), database);
  auto here = EngagementStore::Open(database, dir.path());
  ASSERT_TRUE(here.ok()) << here.status();
  auto other = EngagementStore::Open(database, dir.path());  // another replica
  ASSERT_TRUE(other.ok()) << other.status();
  EngagementStore& store = **here;
  store.FollowOtherWriters();
  // Groups of responses: nothing written but the data version (what a group changes is not
  // what this test is about).
  StoreCommitter<Job> committer(
      store, {.max_group = 8, .what = "the response"},
      [](StoreTx&, std::span<Job>, std::vector<absl::Status>&) { return absl::OkStatus(); },
      [](Job& job, const absl::Status& status) { job.done(status); }, nullptr,
      StoreCommitter<Job>::Changes::kResponses);

  const uint64_t generation = store.generation();
  const uint64_t activities = store.activity_generation();
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(Commit(committer).ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Touch(store).ok());
  // Longer than a notification takes and than the follower's poll (1 s).
  absl::SleepFor(absl::Milliseconds(2500));
  EXPECT_EQ(store.generation(), generation + 9);
  EXPECT_EQ(store.activity_generation(), activities + 3);

  // Another replica's write raises both, promptly (on PostgreSQL by its notification). That a
  // reply read after it holds it: reply_cache_test.cc.
  for (int round = 0; round < 3; ++round) {
    const uint64_t before = store.activity_generation();
    ASSERT_TRUE(Touch(**other).ok());
    // This process's group right after it must not cover the other replica's commit.
    if (round > 0) {
      ASSERT_TRUE(Commit(committer).ok());
    }
    EXPECT_TRUE(Eventually([&] { return store.activity_generation() > before; })) << round;
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, EngagementGenerationTest,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const ::testing::TestParamInfo<Engine>& info) {
                           return std::string(runtime::storage::EngineName(info.param));
                         });

}  // namespace
}  // namespace dorset::engagement
