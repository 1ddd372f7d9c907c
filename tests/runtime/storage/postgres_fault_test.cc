// PostgreSQL faults the lane must ride out: the server killed with kill -9 under a write load
// and restarted, and a server that is away when the Database opens. Each test starts a server of
// its own (they kill it). ctest label `postgres_only`: SQLite has no server to lose.
#include <atomic>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "engines.h"
#include "gtest/gtest.h"
#include "runtime/status/status_macros.h"

namespace dorset::runtime::storage {
namespace {

absl::Status InsertItem(Database& db, int64_t id) {
  return db.Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(Statement insert, tx.Prepare("INSERT INTO item (id, name) VALUES (?, ?)"));
    return insert.Bind(1, id).Bind(2, "item " + std::to_string(id)).Run();
  });
}

// Waits (generously) until Health() is OK.
absl::Status AwaitHealthy(Database& db) {
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  absl::Status health;
  while (absl::Now() < deadline) {
    health = db.Health();
    if (health.ok()) return health;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return health;
}

TEST(PostgresFaults, KilledServerMeansUnavailableThenReconnectsWithEveryAcknowledgedRow) {
  DORSET_REQUIRE_POSTGRES(testing::PostgresServer::Start(), pg);
  absl::StatusOr<std::string> uri = pg->CreateDatabase();
  ASSERT_TRUE(uri.ok()) << uri.status();
  absl::StatusOr<std::unique_ptr<Database>> opened = OpenUrl(*uri);
  ASSERT_TRUE(opened.ok()) << opened.status();
  Database& db = **opened;

  // Four writers insert distinct ids and remember the ones acknowledged.
  absl::Mutex mu;
  std::set<int64_t> acknowledged;
  std::atomic<int64_t> next_id{1};
  std::atomic<bool> stop{false};
  std::atomic<int> unavailable{0};
  std::atomic<int> other_errors{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&] {
      while (!stop.load()) {
        const int64_t id = next_id.fetch_add(1);
        absl::Status s = InsertItem(db, id);
        if (s.ok()) {
          absl::MutexLock lock(&mu);
          acknowledged.insert(id);
        } else if (s.code() == absl::StatusCode::kUnavailable) {
          ++unavailable;
          absl::SleepFor(absl::Milliseconds(5));
        } else {
          ADD_FAILURE() << s;
          ++other_errors;
        }
      }
    });
  }
  auto acked = [&] {
    absl::MutexLock lock(&mu);
    return acknowledged.size();
  };
  const absl::Time load_deadline = absl::Now() + absl::Seconds(30);
  while (acked() < 50 && absl::Now() < load_deadline) absl::SleepFor(absl::Milliseconds(5));
  ASSERT_GE(acked(), 50u);

  pg->Kill9();
  // While it is away: writes are refused with UNAVAILABLE and Health says so.
  const int unavailable_before = unavailable.load();
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (unavailable.load() < unavailable_before + 8 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_GE(unavailable.load(), unavailable_before + 8);
  EXPECT_EQ(InsertItem(db, -1).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(db.Health().code(), absl::StatusCode::kUnavailable);

  ASSERT_TRUE(pg->Restart().ok());
  ASSERT_TRUE(AwaitHealthy(db).ok()) << db.Health();
  // The writers go on by themselves once it answers again.
  const size_t after_restart = acked();
  const absl::Time resume_deadline = absl::Now() + absl::Seconds(30);
  while (acked() < after_restart + 50 && absl::Now() < resume_deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  stop = true;
  for (std::thread& t : writers) t.join();
  EXPECT_GE(acked(), after_restart + 50);
  EXPECT_EQ(other_errors.load(), 0);

  // Every acknowledged row is there (exactly once: id is the primary key), and the refused
  // probe write is not.
  std::set<int64_t> stored;
  ASSERT_TRUE(db.Read([&](Transaction& tx) -> absl::Status {
                  ASSIGN_OR_RETURN(Statement select, tx.Prepare("SELECT id FROM item"));
                  while (true) {
                    ASSIGN_OR_RETURN(bool row, select.Step());
                    if (!row) return absl::OkStatus();
                    stored.insert(select.Int(0));
                  }
                }).ok());
  for (int64_t id : acknowledged) EXPECT_TRUE(stored.count(id)) << "acknowledged id " << id;
  EXPECT_EQ(stored.count(-1), 0u);
  // Unacknowledged ids may be present (the connection broke after the commit): never more.
  EXPECT_LE(stored.size(), static_cast<size_t>(next_id.load()));
}

TEST(PostgresFaults, UnreachableAtOpenReportsUnavailableThenMigratesWhenItAnswers) {
  DORSET_REQUIRE_POSTGRES(testing::PostgresServer::Start(), pg);
  absl::StatusOr<std::string> uri = pg->CreateDatabase();
  ASSERT_TRUE(uri.ok()) << uri.status();
  pg->Stop();

  absl::StatusOr<std::unique_ptr<Database>> opened = OpenUrl(*uri);
  ASSERT_TRUE(opened.ok()) << "an unreachable database must not fail Open: " << opened.status();
  Database& db = **opened;
  EXPECT_EQ(db.Health().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(InsertItem(db, 1).code(), absl::StatusCode::kUnavailable);

  ASSERT_TRUE(pg->Restart().ok());
  ASSERT_TRUE(AwaitHealthy(db).ok()) << db.Health();
  // The migrations ran at first contact: the table is there.
  EXPECT_TRUE(InsertItem(db, 1).ok());
}

TEST(PostgresFaults, ServerRestartedWhileIdleIsInvisibleToTheNextCall) {
  DORSET_REQUIRE_POSTGRES(testing::PostgresServer::Start(), pg);
  absl::StatusOr<std::string> uri = pg->CreateDatabase();
  ASSERT_TRUE(uri.ok()) << uri.status();
  absl::StatusOr<std::unique_ptr<Database>> opened = OpenUrl(*uri);
  ASSERT_TRUE(opened.ok()) << opened.status();
  // Several pooled connections, all of which die with the restart.
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] { EXPECT_TRUE(InsertItem(**opened, i + 1).ok()); });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_TRUE(pg->Restart().ok());
  // Stale connections fail at BEGIN, before anything was sent: the call takes a fresh one.
  EXPECT_TRUE(InsertItem(**opened, 100).ok());
}

// Reads the counter, lets `other` commit a change to it, then writes it: on PostgreSQL
// (SERIALIZABLE) the write fails with a serialization failure (SQLSTATE 40001).
absl::Status RacedIncrement(Transaction& tx, Database& other) {
  ASSIGN_OR_RETURN(Statement read, tx.Prepare("SELECT value FROM counter WHERE id = 1"));
  ASSIGN_OR_RETURN(bool row, read.Step());
  if (!row) return absl::InternalError("no counter");
  const int64_t value = read.Int(0);
  RETURN_IF_ERROR(other.Write([](Transaction& other_tx) -> absl::Status {
    ASSIGN_OR_RETURN(Statement bump,
                     other_tx.Prepare("UPDATE counter SET value = value + 10 WHERE id = 1"));
    return bump.Run();
  }));
  ASSIGN_OR_RETURN(Statement write, tx.Prepare("UPDATE counter SET value = ? WHERE id = 1"));
  return write.Bind(1, value + 1).Run();
}

TEST(PostgresRetry, SerializationFailureRunsTheTransactionAgainThenGivesUpAsAborted) {
  DORSET_REQUIRE_POSTGRES(testing::PostgresServer::Shared(), pg);
  absl::StatusOr<std::string> uri = pg->CreateDatabase();
  ASSERT_TRUE(uri.ok()) << uri.status();
  DatabaseOptions options;
  options.max_attempts = 3;
  absl::StatusOr<std::unique_ptr<Database>> db = OpenUrl(*uri, -1, options);
  absl::StatusOr<std::unique_ptr<Database>> other = OpenUrl(*uri);
  ASSERT_TRUE(db.ok() && other.ok());

  // The first run is raced and fails; the second is not raced and commits.
  int runs = 0;
  absl::Status once = (*db)->Write([&](Transaction& tx) -> absl::Status {
    if (++runs == 1) return RacedIncrement(tx, **other);
    ASSIGN_OR_RETURN(Statement write,
                     tx.Prepare("UPDATE counter SET value = value + 1 WHERE id = 1"));
    return write.Run();
  });
  EXPECT_TRUE(once.ok()) << once;
  EXPECT_EQ(runs, 2);
  EXPECT_EQ((*db)->retries(), 1);

  // Raced every time: three runs, then ABORTED, and none of its writes stays.
  runs = 0;
  absl::Status always = (*db)->Write([&](Transaction& tx) -> absl::Status {
    ++runs;
    return RacedIncrement(tx, **other);
  });
  EXPECT_EQ(always.code(), absl::StatusCode::kAborted) << always;
  EXPECT_EQ(runs, 3);
  int64_t value = -1;
  ASSERT_TRUE((*db)
                  ->Read([&](Transaction& tx) -> absl::Status {
                    ASSIGN_OR_RETURN(Statement read,
                                     tx.Prepare("SELECT value FROM counter WHERE id = 1"));
                    ASSIGN_OR_RETURN(bool row, read.Step());
                    if (row) value = read.Int(0);
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(value, 10 + 1 + 3 * 10);  // the racing bumps and the one committed increment
}

TEST(PostgresPassword, PasswordFromTheFileReachesTheServerAndNeverTheMessages) {
  // A server of its own: the password role is cluster-wide, and the run's shared server is not.
  DORSET_REQUIRE_POSTGRES(testing::PostgresServer::Start(), pg);
  absl::StatusOr<std::string> uri = pg->CreateDatabase();
  ASSERT_TRUE(uri.ok()) << uri.status();
  const std::string role = testing::PostgresServer::kPasswordRole;
  const std::string dbname = uri->substr(uri->rfind('/') + 1, uri->find('?') - uri->rfind('/') - 1);
  ASSERT_TRUE(pg->Sql("postgres", "CREATE ROLE " + role + " LOGIN PASSWORD 'c0rrect-h0rse'").ok());
  ASSERT_TRUE(pg->Sql(dbname, "GRANT ALL ON SCHEMA public TO " + role).ok());
  testing::TempDir dir;
  testing::WriteFile(dir.File("right"), "c0rrect-h0rse\n");
  testing::WriteFile(dir.File("wrong"), "wr0ng-batt3ry\n");

  ServerConfig config;
  config.service = "finance";
  config.data_dir = dir.path();
  config.database =
      absl::StrCat("postgres://", role, "@127.0.0.1:", pg->port(), "/", dbname, "?sslmode=disable");
  config.database_password_file = dir.File("wrong");
  absl::StatusOr<std::unique_ptr<Database>> refused =
      OpenServiceDatabase(config, migrations::StorageTestMigrations);
  ASSERT_TRUE(refused.ok()) << refused.status();  // away, not fatal: Health says why
  absl::Status health = (*refused)->Health();
  EXPECT_EQ(health.code(), absl::StatusCode::kUnavailable) << health;
  EXPECT_EQ(health.message().find("wr0ng-batt3ry"), absl::string_view::npos) << health;

  config.database_password_file = dir.File("right");
  absl::StatusOr<std::unique_ptr<Database>> opened =
      OpenServiceDatabase(config, migrations::StorageTestMigrations);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_TRUE((*opened)->Health().ok()) << (*opened)->Health();
  EXPECT_TRUE(InsertItem(**opened, 1).ok());
  EXPECT_EQ((*opened)->Describe().find("c0rrect-h0rse"), std::string::npos);
}

}  // namespace
}  // namespace dorset::runtime::storage
