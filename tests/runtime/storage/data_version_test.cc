// A store's data version and the follower of other writers' commits
// (runtime/storage/data_version.h), on both engines (ctest labels `sqlite` and `postgres`): the
// version moves with every committed write that bumps it (which learns the version it commits)
// and not with one rolled back; a DataVersionFollower advances its generation when another
// connection (another replica or process) commits a write, on PostgreSQL by the commit's
// notification, on SQLite by polling, and not for this process's own commits covered in its
// OwnCommits; what OwnCommits covers; a store's own write through WriteAndAdvance
// (runtime/storage/write_and_advance.h).
#include "runtime/storage/data_version.h"

#include <iostream>
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "engines.h"
#include "gtest/gtest.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/transact.h"
#include "runtime/storage/write_and_advance.h"

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
  static absl::StatusOr<uint64_t> Bump(Database& db, bool fail = false,
                                       OwnCommit* commit = nullptr) {
    return WriteReturning(db, [fail, commit](Transaction& tx) -> absl::StatusOr<uint64_t> {
      ASSIGN_OR_RETURN(const uint64_t version, BumpDataVersion(tx, kChannel));
      if (commit != nullptr) commit->Bumped(version);
      if (fail) return absl::AbortedError("rolled back");
      return version;
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
  EXPECT_EQ(*Bump(*db_), 1u);
  EXPECT_EQ(*Bump(*db_), 2u);
  EXPECT_EQ(*ReadDataVersion(*db_), 2u);
  EXPECT_FALSE(Bump(*db_, /*fail=*/true).ok());
  EXPECT_EQ(*ReadDataVersion(*db_), 2u);
}

// SendDataVersionBump (on PostgreSQL sent, not waited for, and committed in one round trip with
// the commit): the version read at the transaction's start plus one, committed; told a wrong
// starting version (the row moved under the transaction), the statement fails the transaction at
// its commit and nothing of it commits.
TEST_P(DataVersionTest, ASentBumpCommitsTheVersionReadPlusOneOrNothing) {
  ASSERT_EQ(*Bump(*db_), 1u);
  absl::StatusOr<uint64_t> sent =
      WriteReturning(*db_, [](Transaction& tx) -> absl::StatusOr<uint64_t> {
        ASSIGN_OR_RETURN(const uint64_t read, ReadDataVersion(tx));
        return SendDataVersionBump(tx, kChannel, read);
      });
  ASSERT_TRUE(sent.ok()) << sent.status();
  EXPECT_EQ(*sent, 2u);
  EXPECT_EQ(*ReadDataVersion(*db_), 2u);
  absl::Status wrong = db_->Write([](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(const uint64_t read, ReadDataVersion(tx));
    return SendDataVersionBump(tx, kChannel, read + 5).status();
  });
  EXPECT_FALSE(wrong.ok());
  EXPECT_NE(wrong.message().find("the data version moved under the transaction"),
            std::string_view::npos)
      << wrong;
  EXPECT_EQ(*ReadDataVersion(*db_), 2u);
  EXPECT_EQ(*Bump(*db_), 3u);  // the connection serves on
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

// This process's own commits, advanced for and covered, are not advanced for again by the
// follower (it waits longer than a notification and than its poll); another writer's still are.
TEST_P(DataVersionTest, FollowerSkipsOwnCommitsOnly) {
  absl::StatusOr<std::unique_ptr<Database>> other = OpenUrl(url_);
  ASSERT_TRUE(other.ok()) << other.status();
  StoreGeneration generation;
  OwnCommits own;
  const absl::Duration poll = absl::Milliseconds(200);
  DataVersionFollower follower({.read_version = [this] { return ReadDataVersion(*db_); },
                                .advance = [&generation] { generation.Advance(); },
                                .postgres_uri = postgres_uri_,
                                .password = "",
                                .channel = kChannel,
                                .own = &own},
                               poll);
  const uint64_t before = generation.get();
  for (int i = 0; i < 10; ++i) {
    OwnCommit commit(&own);
    ASSERT_TRUE(Bump(*db_, false, &commit).ok());
    generation.Advance();
    commit.Covered(OwnCommits::Advanced::kAll);
  }
  // A rolled-back write is withdrawn (its OwnCommit goes): nothing to wait for.
  {
    OwnCommit commit(&own);
    EXPECT_FALSE(Bump(*db_, /*fail=*/true, &commit).ok());
  }
  absl::SleepFor(poll * 5);
  EXPECT_EQ(generation.get(), before + 10);
  EXPECT_EQ(own.covered(), 10u);
  for (int round = 0; round < 3; ++round) {
    const uint64_t at = generation.get();
    ASSERT_TRUE(Bump(**other).ok());
    const absl::Time start = absl::Now();
    while (generation.get() == at && absl::Now() - start < absl::Seconds(10)) {
      absl::SleepFor(absl::Milliseconds(2));
    }
    EXPECT_EQ(generation.get(), at + 1) << "round " << round;
  }
}

// A store's own write: the version bumped only when `fn` succeeds, the generations advanced once
// after every transaction (a failed one may have committed), and only a committed one covered, so
// that the follower skips it.
TEST_P(DataVersionTest, WriteAndAdvanceCoversOnlyWhatCommitted) {
  OwnCommits own;
  int advances = 0;
  auto write = [&](bool fail) {
    return WriteAndAdvance(
        *db_, kChannel, &own, [&advances] { ++advances; },
        [fail](Transaction&) -> absl::StatusOr<int> {
          if (fail) return absl::AbortedError("rolled back");
          return 7;
        });
  };
  absl::StatusOr<int> written = write(false);
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(*written, 7);
  EXPECT_EQ(*ReadDataVersion(*db_), 1u);
  EXPECT_EQ(advances, 1);
  EXPECT_EQ(own.covered(), 1u);

  EXPECT_FALSE(write(true).ok());
  EXPECT_EQ(*ReadDataVersion(*db_), 1u);
  EXPECT_EQ(advances, 2);
  EXPECT_EQ(own.covered(), 1u);
  EXPECT_FALSE(own.AwaitCovered(2, absl::Seconds(10)));  // withdrawn: at once

  // A function returning absl::Status goes the same way.
  EXPECT_TRUE(WriteAndAdvance(
                  *db_, kChannel, &own, [&advances] { ++advances; },
                  [](Transaction&) { return absl::OkStatus(); })
                  .ok());
  EXPECT_EQ(*ReadDataVersion(*db_), 2u);
  EXPECT_EQ(advances, 3);
  EXPECT_EQ(own.covered(), 2u);
}

// A commit that advanced only some generations covers its version only when the one before it
// is covered (no other writer's commit in between).
TEST(OwnCommitsTest, SomeGenerationsCoverOnlyAfterEverythingBefore) {
  OwnCommits own;
  own.Read(4, false);  // the follower read 4
  own.Committing(5);
  own.Covered(5, OwnCommits::Advanced::kSome);
  EXPECT_EQ(own.covered(), 5u);
  own.Covered(7, OwnCommits::Advanced::kSome);  // 6 was another writer's
  EXPECT_EQ(own.covered(), 5u);
  own.Covered(8, OwnCommits::Advanced::kAll);  // every generation: 6 is in it
  EXPECT_EQ(own.covered(), 8u);
  own.Read(3, /*backwards=*/true);  // the database restored under the process
  EXPECT_EQ(own.covered(), 3u);
  own.Committing(4);
  EXPECT_FALSE(own.AwaitCovered(4, absl::Milliseconds(10)));  // pending, not covered
  own.Withdraw(4);
  EXPECT_FALSE(own.AwaitCovered(4, absl::Seconds(10)));  // not pending: at once
}

INSTANTIATE_TEST_SUITE_P(Engines, DataVersionTest,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const ::testing::TestParamInfo<Engine>& info) {
                           return std::string(EngineName(info.param));
                         });

}  // namespace
}  // namespace dorset::runtime::storage
