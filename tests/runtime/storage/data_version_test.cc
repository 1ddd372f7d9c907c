// A store's data version and the follower of other writers' commits
// (runtime/storage/data_version.h), on both engines (ctest labels `sqlite` and `postgres`): the
// version moves with every committed write that bumps it and not with one rolled back; a
// DataVersionFollower advances its generation when another connection (another replica or
// process) commits a write, on PostgreSQL by the commit's notification, on SQLite by polling.
#include "runtime/storage/data_version.h"

#include <iostream>
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "engines.h"
#include "gtest/gtest.h"
#include "runtime/status/status_macros.h"

namespace dorset::runtime::storage {
namespace {

constexpr char kChannel[] = "dorset_test_data";

class DataVersionTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    url_ = "sqlite://" + dir_.File("data_version.db");
    DORSET_DATABASE_FOR_ENGINE(GetParam(), url_);
    absl::StatusOr<DatabaseUrl> parsed = ParseDatabaseUrl(url_, "", "");
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    postgres_uri_ = parsed->kind == DatabaseUrl::Kind::kPostgres ? parsed->postgres_uri : "";
    absl::StatusOr<std::unique_ptr<Database>> db = OpenUrl(url_);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    // The store's key/value table, as a service's migration makes it.
    ASSERT_TRUE(db_->Write([](Transaction& tx) -> absl::Status {
                     ASSIGN_OR_RETURN(Statement create,
                                      tx.Prepare("CREATE TABLE meta (key TEXT PRIMARY KEY, "
                                                 "value TEXT NOT NULL)"));
                     return create.Run();
                   })
                    .ok());
  }

  // A write on `db` that bumps the version; `fail` rolls it back.
  static absl::Status Bump(Database& db, bool fail = false) {
    return db.Write([fail](Transaction& tx) -> absl::Status {
      RETURN_IF_ERROR(BumpDataVersion(tx, kChannel));
      if (fail) return absl::AbortedError("rolled back");
      return absl::OkStatus();
    });
  }

  std::string url_;
  std::string postgres_uri_;
  testing::TempDir dir_;
  std::unique_ptr<Database> db_;
};

TEST_P(DataVersionTest, MovesWithEveryCommittedWriteOnly) {
  absl::StatusOr<uint64_t> v0 = ReadDataVersion(*db_);
  ASSERT_TRUE(v0.ok()) << v0.status();
  EXPECT_EQ(*v0, 0u);
  ASSERT_TRUE(Bump(*db_).ok());
  ASSERT_TRUE(Bump(*db_).ok());
  EXPECT_EQ(*ReadDataVersion(*db_), 2u);
  EXPECT_FALSE(Bump(*db_, /*fail=*/true).ok());
  EXPECT_EQ(*ReadDataVersion(*db_), 2u);
}

TEST_P(DataVersionTest, FollowerAdvancesWhenAnotherWriterCommits) {
  // The follower's process reads through db_; the other writer has a Database of its own.
  absl::StatusOr<std::unique_ptr<Database>> other = OpenUrl(url_);
  ASSERT_TRUE(other.ok()) << other.status();
  StoreGeneration generation;
  DataVersionFollower follower(
      {.read_version = [this] { return ReadDataVersion(*db_); },
       .advance = [&generation] { generation.Advance(); },
       .postgres_uri = postgres_uri_,
       .password = "",
       .channel = kChannel},
      // On PostgreSQL the notification, not the poll, must bring it within the 10 s below (the
      // follower's destructor waits out the poll once: the test ends ~12 s later).
      GetParam() == Engine::kPostgres ? absl::Seconds(12) : absl::Milliseconds(20));
  for (int round = 0; round < 3; ++round) {
    const uint64_t before = generation.get();
    ASSERT_TRUE(Bump(**other).ok());
    const absl::Time start = absl::Now();
    while (generation.get() == before && absl::Now() - start < absl::Seconds(10)) {
      absl::SleepFor(absl::Milliseconds(2));
    }
    EXPECT_GT(generation.get(), before) << "round " << round;
    std::cout << "round " << round << ": seen after "
              << absl::ToDoubleMilliseconds(absl::Now() - start) << " ms\n";
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, DataVersionTest,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const ::testing::TestParamInfo<Engine>& info) {
                           return std::string(EngineName(info.param));
                         });

}  // namespace
}  // namespace dorset::runtime::storage
