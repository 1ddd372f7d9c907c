// The registry's storage on the engine of this test run (…/sqlite, …/postgres): the service runs
// on that engine, and the change feed stays gap-free and in commit order when two stores (two
// replicas' worth of connections) write to one database at once while a reader follows it.
#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_engine.h"
#include "services/registry/storage/store.h"
#include "tests/registry/registry_test_env.h"

namespace dorset::registry {
namespace {

TEST(RegistryStorage, TheServiceRunsOnTheEngineOfThisTestRun) {
  auto env = testing::RegistryEnv::Start();
  ASSERT_NE(env, nullptr);
  ASSERT_NE(env->module().store(), nullptr);
  const std::string where = env->module().store()->Describe();
  EXPECT_TRUE(where.starts_with(dorset::testing::TestEngineIsPostgres() ? "postgres" : "sqlite"))
      << where;
  EXPECT_TRUE(env->module().store()->Check().ok());
}

TEST(RegistryStorage, TwoStoresWritingAtOnceKeepTheFeedGapFreeAndInCommitOrder) {
  dorset::testing::TempDir dir;
  absl::StatusOr<std::string> database = dorset::testing::TestDatabaseFor(dir.path());
  ASSERT_TRUE(database.ok()) << database.status();
  auto a = Store::Open(*database, dir.path());
  auto b = Store::Open(*database, dir.path());
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  Store* stores[] = {a->get(), b->get()};

  constexpr int kWriters = 4;
  constexpr int kWritesEach = 20;
  std::mutex mu;
  std::vector<int64_t> acknowledged;
  std::atomic<int> failures{0};
  std::atomic<bool> done{false};
  // A reader following the feed: whatever it sees continues exactly where it stopped.
  std::atomic<int> gaps{0};
  std::thread follower([&] {
    int64_t last = 0;
    while (!done.load()) {
      absl::StatusOr<std::vector<v1::Change>> changes = stores[1]->ChangesAfter(last, 1000);
      if (!changes.ok()) continue;
      for (const v1::Change& c : *changes) {
        if (c.sequence() != last + 1) gaps.fetch_add(1);
        last = c.sequence();
      }
    }
  });
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kWritesEach; ++i) {
        const std::string id = absl::StrCat("c", w, "-", i);
        // Two changes per transaction: a cluster and its locality.
        absl::StatusOr<std::vector<CommittedChange>> changes =
            stores[w % 2]->Write("test", "writer", [&](WriteTx& tx) -> absl::Status {
              absl::Status s = tx.SaveCluster({id, "CLUSTER"}, true);
              if (!s.ok()) return s;
              return tx.SaveLocality({id, "LOCALITY", id}, true);
            });
        if (!changes.ok()) {
          ADD_FAILURE() << changes.status();
          failures.fetch_add(1);
          continue;
        }
        ASSERT_EQ(changes->size(), 2u);
        EXPECT_EQ((*changes)[1].sequence, (*changes)[0].sequence + 1);  // one block each
        std::lock_guard<std::mutex> lock(mu);
        for (const CommittedChange& c : *changes) acknowledged.push_back(c.sequence);
      }
    });
  }
  for (std::thread& t : writers) t.join();
  done = true;
  follower.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(gaps.load(), 0) << "a reader saw sequence N before N-1";

  const int64_t total = 2 * kWriters * kWritesEach;
  std::set<int64_t> unique(acknowledged.begin(), acknowledged.end());
  EXPECT_EQ(unique.size(), acknowledged.size()) << "a sequence was handed out twice";
  ASSERT_EQ(static_cast<int64_t>(unique.size()), total);
  EXPECT_EQ(*unique.begin(), 1);
  EXPECT_EQ(*unique.rbegin(), total);
  absl::StatusOr<std::vector<v1::Change>> feed = stores[0]->ChangesAfter(0, 10000);
  ASSERT_TRUE(feed.ok()) << feed.status();
  ASSERT_EQ(static_cast<int64_t>(feed->size()), total);
  for (int64_t i = 0; i < total; ++i) EXPECT_EQ((*feed)[i].sequence(), i + 1);
  absl::StatusOr<int64_t> latest = stores[1]->LatestSequence();
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(*latest, total);

  // A failed write hands its numbers out again: still no gap.
  absl::StatusOr<std::vector<CommittedChange>> refused =
      stores[0]->Write("test", "writer", [&](WriteTx& tx) -> absl::Status {
        absl::Status s = tx.SaveCluster({"rolled-back", "X"}, true);
        if (!s.ok()) return s;
        return absl::FailedPreconditionError("changed my mind");
      });
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<std::vector<CommittedChange>> next =
      stores[1]->Write("test", "writer", [&](WriteTx& tx) -> absl::Status {
        return tx.SaveCluster({"after", "Y"}, true);
      });
  ASSERT_TRUE(next.ok()) << next.status();
  ASSERT_EQ(next->size(), 1u);
  EXPECT_EQ((*next)[0].sequence, total + 1);
}

}  // namespace
}  // namespace dorset::registry
