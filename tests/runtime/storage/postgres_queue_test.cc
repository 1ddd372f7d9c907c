// Database::WriteQueued on PostgreSQL (issue 13, issue 16): replicas' transactions that all
// read one head and append after it wait in one queue, a session advisory lock taken before
// BEGIN. The lock travels in one pipeline with BEGIN and the transaction's first statement, and
// its release in one with COMMIT or ROLLBACK (issue 16: two round trips a write group fewer);
// every test runs with the pipeline on (the default) and off (DORSET_DATABASE_PIPELINE=off,
// a round trip each, as before). ctest label `postgres_only`: SQLite has no such lock.
#include <atomic>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "engines.h"
#include "gtest/gtest.h"
#include "runtime/status/status_macros.h"

namespace dorset::runtime::storage {
namespace {

constexpr int64_t kQueue = 4242;

class PostgresQueue : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam()) {
      unsetenv("DORSET_DATABASE_PIPELINE");
    } else {
      setenv("DORSET_DATABASE_PIPELINE", "off", 1);
    }
  }
  void TearDown() override { unsetenv("DORSET_DATABASE_PIPELINE"); }

  // Two Database objects on one new database of the run's server: two replicas.
  void OpenTwoReplicas(std::unique_ptr<Database>& a, std::unique_ptr<Database>& b,
                       const char* b_options = "") {
    DORSET_REQUIRE_POSTGRES(testing::PostgresServer::Shared(), pg);
    absl::StatusOr<std::string> uri = pg->CreateDatabase();
    ASSERT_TRUE(uri.ok()) << uri.status();
    absl::StatusOr<std::unique_ptr<Database>> first = OpenUrl(*uri);
    absl::StatusOr<std::unique_ptr<Database>> second = OpenUrl(absl::StrCat(*uri, b_options));
    ASSERT_TRUE(first.ok() && second.ok());
    a = *std::move(first);
    b = *std::move(second);
  }
};

// Sessions holding the queue's lock in this test's database, as pg_locks shows them (the run's
// other test processes share the server, and use the same key in databases of their own).
int64_t Holders(Database& db) {
  int64_t held = -1;
  EXPECT_TRUE(db.Read([&](Transaction& tx) -> absl::Status {
                  ASSIGN_OR_RETURN(Statement s,
                                   tx.Prepare("SELECT COUNT(*) FROM pg_locks WHERE locktype = "
                                              "'advisory' AND classid = 0 AND objid = ? AND "
                                              "granted AND database = (SELECT oid FROM "
                                              "pg_database WHERE datname = current_database())"));
                  s.Bind(1, kQueue);
                  ASSIGN_OR_RETURN(bool row, s.Step());
                  if (row) held = s.Int(0);
                  return absl::OkStatus();
                }).ok());
  return held;
}

int64_t CountItems(Database& db) {
  int64_t count = -1;
  EXPECT_TRUE(db.Read([&](Transaction& tx) -> absl::Status {
                  ASSIGN_OR_RETURN(Statement s, tx.Prepare("SELECT COUNT(*) FROM item"));
                  ASSIGN_OR_RETURN(bool row, s.Step());
                  if (row) count = s.Int(0);
                  return absl::OkStatus();
                }).ok());
  return count;
}

absl::Status Insert(Transaction& tx, int64_t id) {
  ASSIGN_OR_RETURN(Statement insert, tx.Prepare("INSERT INTO item (id, name) VALUES (?, ?)"));
  return insert.Bind(1, id).Bind(2, absl::StrCat("item ", id)).Run();
}

// Issue 13 (finance's ledger across replicas): transactions that all read one head and append
// after it - here the highest item id - from two Database objects (two replicas) at once. With
// WriteQueued they wait their turn: none is rolled back and retried (Write under SERIALIZABLE
// rolled such collisions back by the hundred), and the ids are 1..N with no gap or repeat. Were
// the lock taken after BEGIN's snapshot, the appends would collide and be retried.
TEST_P(PostgresQueue, AppendsAfterOneHeadFromTwoReplicasQueueInsteadOfRollingBack) {
  std::unique_ptr<Database> a, b;
  ASSERT_NO_FATAL_FAILURE(OpenTwoReplicas(a, b));
  if (IsSkipped()) return;  // no PostgreSQL outside CI
  constexpr int kThreadsPerReplica = 3;
  constexpr int kAppends = 40;
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (Database* db : {a.get(), b.get()}) {
    for (int t = 0; t < kThreadsPerReplica; ++t) {
      threads.emplace_back([&, db] {
        for (int i = 0; i < kAppends; ++i) {
          absl::Status status = db->WriteQueued(kQueue, [&](Transaction& tx) -> absl::Status {
            ASSIGN_OR_RETURN(Statement head, tx.Prepare("SELECT COALESCE(MAX(id), 0) FROM item"));
            ASSIGN_OR_RETURN(bool row, head.Step());
            return Insert(tx, row ? head.Int(0) + 1 : 1);
          });
          if (!status.ok()) {
            ADD_FAILURE() << status;
            ++failed;
          }
        }
      });
    }
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(a->retries() + b->retries(), 0) << "appends collided and were rolled back";
  int64_t count = -1, highest = -1;
  ASSERT_TRUE(a->Read([&](Transaction& tx) -> absl::Status {
                 ASSIGN_OR_RETURN(Statement s, tx.Prepare("SELECT COUNT(*), MAX(id) FROM item"));
                 ASSIGN_OR_RETURN(bool row, s.Step());
                 if (row) count = s.Int(0), highest = s.Int(1);
                 return absl::OkStatus();
               }).ok());
  EXPECT_EQ(count, 2 * kThreadsPerReplica * kAppends);
  EXPECT_EQ(highest, count);
  // The queue's lock went with every transaction: no session of either pool still holds it.
  EXPECT_EQ(Holders(*a), 0);
}

// A replica inside its queued transaction, having written item 1: returns once `db` holds the
// queue; the transaction commits when `go` is notified (join the thread after).
std::thread HoldQueue(Database& db, absl::Notification& inside, absl::Notification& go) {
  std::thread holder([&db, &inside, &go] {
    EXPECT_TRUE(db.WriteQueued(kQueue, [&](Transaction& tx) -> absl::Status {
                    RETURN_IF_ERROR(Insert(tx, 1));
                    inside.Notify();
                    go.WaitForNotification();
                    return absl::OkStatus();
                  }).ok());
  });
  inside.WaitForNotification();
  return holder;
}

// One replica inside its queued transaction: the other's WriteQueued waits until it commits,
// then its snapshot sees the first one's row (taken after the lock, not before the wait).
TEST_P(PostgresQueue, TheNextWaitsForTheHolderAndSeesWhatItCommitted) {
  std::unique_ptr<Database> a, b;
  ASSERT_NO_FATAL_FAILURE(OpenTwoReplicas(a, b));
  if (IsSkipped()) return;  // no PostgreSQL outside CI
  absl::Notification inside, go;
  std::atomic<bool> second_done{false};
  int64_t seen_by_second = -1;
  std::thread first = HoldQueue(*a, inside, go);
  std::thread second([&] {
    EXPECT_TRUE(b->WriteQueued(kQueue, [&](Transaction& tx) -> absl::Status {
                   ASSIGN_OR_RETURN(Statement s, tx.Prepare("SELECT COUNT(*) FROM item"));
                   ASSIGN_OR_RETURN(bool row, s.Step());
                   if (row) seen_by_second = s.Int(0);
                   return Insert(tx, 2);
                 }).ok());
    second_done = true;
  });
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_FALSE(second_done.load()) << "the second transaction did not wait for the queue";
  EXPECT_EQ(Holders(*a), 1);
  go.Notify();
  first.join();
  second.join();
  EXPECT_EQ(seen_by_second, 1);
  EXPECT_EQ(CountItems(*a), 2);
  EXPECT_EQ(a->retries() + b->retries(), 0);
  EXPECT_EQ(Holders(*a), 0);
}

// However a queued transaction ends - refused by its function before or after a statement, a
// statement that fails, no statement at all, committed - the lock goes with it: the next
// holder, from the other replica, is not kept waiting, and no session holds it after.
TEST_P(PostgresQueue, TheLockGoesHoweverTheTransactionEnds) {
  std::unique_ptr<Database> a, b;
  ASSERT_NO_FATAL_FAILURE(OpenTwoReplicas(a, b));
  if (IsSkipped()) return;  // no PostgreSQL outside CI
  ASSERT_TRUE(a->WriteQueued(kQueue, [](Transaction& tx) { return Insert(tx, 1); }).ok());
  const absl::Status refused = absl::FailedPreconditionError("refused");
  struct Case {
    const char* what;
    std::function<absl::Status(Transaction&)> fn;
    absl::StatusCode expected;
  };
  const std::vector<Case> cases = {
      {"refused before any statement", [&](Transaction&) { return refused; },
       absl::StatusCode::kFailedPrecondition},
      {"refused after a statement",
       [&](Transaction& tx) -> absl::Status {
         RETURN_IF_ERROR(Insert(tx, 10));
         return refused;
       },
       absl::StatusCode::kFailedPrecondition},
      {"a statement that fails (duplicate key)", [](Transaction& tx) { return Insert(tx, 1); },
       absl::StatusCode::kAlreadyExists},
      {"a failed statement the function ignores",
       [](Transaction& tx) -> absl::Status {
         (void)Insert(tx, 1);
         return absl::OkStatus();
       },
       absl::StatusCode::kAlreadyExists},
      {"no statement at all", [](Transaction&) { return absl::OkStatus(); }, absl::StatusCode::kOk},
      {"committed", [](Transaction& tx) { return Insert(tx, 20); }, absl::StatusCode::kOk},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    absl::Status status =
        a->WriteQueued(kQueue, [&](Transaction& tx) -> absl::Status { return c.fn(tx); });
    EXPECT_EQ(status.code(), c.expected) << status;
    EXPECT_EQ(Holders(*b), 0);
    // The other replica takes the queue at once (a lock left held would keep it waiting).
    std::atomic<bool> done{false};
    std::thread other([&] {
      EXPECT_TRUE(b->WriteQueued(kQueue, [](Transaction& tx) -> absl::Status {
                     ASSIGN_OR_RETURN(Statement s, tx.Prepare("SELECT 1"));
                     return s.Step().status();
                   }).ok());
      done = true;
    });
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (!done.load() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
    EXPECT_TRUE(done.load()) << "the lock was left held";
    if (!done.load()) {
      ADD_FAILURE() << "giving up: the other replica is stuck behind the queue";
      std::abort();  // the thread cannot be joined
    }
    other.join();
  }
  EXPECT_EQ(CountItems(*a), 2);  // items 1 and 20: nothing of the refused or failed ones
  EXPECT_EQ(Holders(*a), 0);
}

// The queue's lock itself fails (here a lock_timeout while the other replica holds the queue):
// the transaction fails with the lock's error and nothing of it commits, even when its function
// ignores the failed statement and returns OK (with the pipeline, BEGIN and the statements ran
// after the lock's segment had failed).
TEST_P(PostgresQueue, ALockThatFailsCommitsNothing) {
  std::unique_ptr<Database> a, b;
  ASSERT_NO_FATAL_FAILURE(OpenTwoReplicas(a, b, "&options=-c%20lock_timeout%3D200"));
  if (IsSkipped()) return;  // no PostgreSQL outside CI
  absl::Notification inside, go;
  std::thread holder = HoldQueue(*a, inside, go);
  absl::Status status = b->WriteQueued(kQueue, [](Transaction& tx) -> absl::Status {
    (void)Insert(tx, 2);
    return absl::OkStatus();
  });
  go.Notify();
  holder.join();
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("lock timeout"), std::string_view::npos) << status;
  EXPECT_EQ(CountItems(*a), 1);  // the holder's item only
  EXPECT_EQ(Holders(*a), 0);
}

absl::Status SendInsert(Transaction& tx, int64_t id, const char* name) {
  ASSIGN_OR_RETURN(Statement insert, tx.Prepare("INSERT INTO item (id, name) VALUES (?, ?)"));
  return insert.Bind(1, id).Bind(2, absl::StrCat(name, " ", id)).Send();  // names are unique
}

absl::Status ReadCount(Transaction& tx) {
  ASSIGN_OR_RETURN(Statement count, tx.Prepare("SELECT COUNT(*) FROM item"));
  return count.Step().status();
}

// Returns once `b` took the queue (so nothing of `a` holds it); aborts when it stays held.
void ExpectQueueFree(Database& a, Database& b) {
  EXPECT_EQ(Holders(a), 0);
  std::atomic<bool> done{false};
  std::thread other([&] {
    EXPECT_TRUE(b.WriteQueued(kQueue, [](Transaction& tx) { return ReadCount(tx); }).ok());
    done = true;
  });
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!done.load() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
  if (!done.load()) {
    ADD_FAILURE() << "giving up: the other replica is stuck behind the queue";
    std::abort();  // the thread cannot be joined
  }
  other.join();
}

// Issue 16: statements sent without waiting (Statement::Send) after the transaction's first
// read go in one pipeline with COMMIT and the queue's release. A statement among them that fails
// (mid-pipeline, or at the COMMIT itself: a deferred constraint) commits nothing of the
// transaction, returns its own error, and the queue is free at once; a serialization failure
// raised by one runs the whole transaction again; the next transaction works.
TEST_P(PostgresQueue, StatementsSentBeforeTheCommitGoWithItOrNotAtAll) {
  std::unique_ptr<Database> a, b;
  ASSERT_NO_FATAL_FAILURE(OpenTwoReplicas(a, b));
  if (IsSkipped()) return;  // no PostgreSQL outside CI
  ASSERT_TRUE(a->Write([](Transaction& tx) {
                 return tx.Exec(R"sql(
        CREATE TABLE late (id BIGINT, CONSTRAINT late_once UNIQUE (id) DEFERRABLE INITIALLY DEFERRED);
        INSERT INTO late VALUES (1);
        CREATE FUNCTION forced_conflict() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.name LIKE 'conflict%' THEN
            RAISE EXCEPTION 'forced serialization failure' USING ERRCODE = '40001';
          END IF;
          RETURN NEW;
        END $$;
        CREATE TRIGGER forced_conflict BEFORE INSERT ON item
          FOR EACH ROW EXECUTE FUNCTION forced_conflict();)sql");
               }).ok());
  ASSERT_TRUE(a->WriteQueued(kQueue, [](Transaction& tx) { return Insert(tx, 1); }).ok());

  // Committed with them.
  absl::Status committed = a->WriteQueued(kQueue, [](Transaction& tx) -> absl::Status {
    RETURN_IF_ERROR(ReadCount(tx));
    for (int64_t id = 10; id < 15; ++id) RETURN_IF_ERROR(SendInsert(tx, id, "sent"));
    return absl::OkStatus();
  });
  ASSERT_TRUE(committed.ok()) << committed;
  EXPECT_EQ(CountItems(*a), 6);
  ExpectQueueFree(*a, *b);

  // A duplicate key in the middle of the pipeline: nothing before or after it commits.
  absl::Status mid = a->WriteQueued(kQueue, [](Transaction& tx) -> absl::Status {
    RETURN_IF_ERROR(ReadCount(tx));
    RETURN_IF_ERROR(SendInsert(tx, 20, "before"));
    RETURN_IF_ERROR(SendInsert(tx, 1, "taken"));
    return SendInsert(tx, 21, "after");
  });
  EXPECT_EQ(mid.code(), absl::StatusCode::kAlreadyExists) << mid;
  EXPECT_EQ(CountItems(*a), 6);
  ExpectQueueFree(*a, *b);

  // The COMMIT itself fails (the deferred unique check): the release after it was skipped too.
  absl::Status at_commit = a->WriteQueued(kQueue, [](Transaction& tx) -> absl::Status {
    RETURN_IF_ERROR(ReadCount(tx));
    RETURN_IF_ERROR(SendInsert(tx, 30, "with a late duplicate"));
    ASSIGN_OR_RETURN(Statement late, tx.Prepare("INSERT INTO late VALUES (?)"));
    return late.Bind(1, 1).Send();
  });
  EXPECT_EQ(at_commit.code(), absl::StatusCode::kAlreadyExists) << at_commit;
  EXPECT_EQ(CountItems(*a), 6);
  ExpectQueueFree(*a, *b);

  // A serialization failure raised by a sent statement: the transaction runs again as a whole.
  int attempts = 0;
  const int64_t retries_before = a->retries();
  absl::Status rerun = a->WriteQueued(kQueue, [&](Transaction& tx) -> absl::Status {
    RETURN_IF_ERROR(ReadCount(tx));
    RETURN_IF_ERROR(SendInsert(tx, 40, "first run only"));
    return SendInsert(tx, 41, attempts++ == 0 ? "conflict" : "again");
  });
  EXPECT_TRUE(rerun.ok()) << rerun;
  EXPECT_EQ(attempts, 2);
  EXPECT_EQ(a->retries(), retries_before + 1);
  EXPECT_EQ(CountItems(*a), 8);
  ExpectQueueFree(*a, *b);

  // The next transaction, on every connection of the pool, works.
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(a->WriteQueued(kQueue,
                               [i](Transaction& tx) -> absl::Status {
                                 RETURN_IF_ERROR(ReadCount(tx));
                                 return SendInsert(tx, 100 + i, "next");
                               })
                    .ok())
        << i;
  }
  EXPECT_EQ(CountItems(*a), 20);
  EXPECT_EQ(Holders(*a), 0);
}

INSTANTIATE_TEST_SUITE_P(Pipeline, PostgresQueue, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? std::string("Pipelined")
                                             : std::string("RoundTripEach");
                         });

}  // namespace
}  // namespace dorset::runtime::storage
