// The storage lane's one group committer and one idempotency record, on both engines (ctest
// labels `sqlite` and `postgres`): groups commit together and are acknowledged only after the
// commit; a job refused alone leaves nothing and does not sink the others; a failed group leaves
// nothing and answers every job UNAVAILABLE; the bounded queue refuses with RESOURCE_EXHAUSTED;
// shutdown writes what was queued; a reused request_id replays only for the same method,
// principal and request hash.
#include "runtime/storage/group_commit.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "engines.h"
#include "gtest/gtest.h"
#include "runtime/api/request_id.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/idempotency.h"
#include "storage_commit_test_migrations.h"

namespace dorset::runtime::storage {
namespace {

struct Job {
  int64_t id = 0;
  bool refuse = false;  // refused alone by the group function
  bool sink = false;    // makes the group function fail (the whole group abandoned)
  std::function<void(const absl::Status&)> done;
};

class GroupCommitTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    std::string url = "sqlite://" + dir_.File("commit.db");
    DORSET_DATABASE_FOR_ENGINE(GetParam(), url);
    absl::StatusOr<DatabaseUrl> parsed = ParseDatabaseUrl(url, "", "");
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    absl::StatusOr<std::unique_ptr<Database>> db =
        OpenDatabase(*parsed, {}, migrations::StorageCommitTestMigrations);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
  }

  // Writes each job's row; a `refuse` job writes nothing and fails alone; a `sink` job fails the
  // group after the rows before it were written.
  static absl::Status WriteJobs(Transaction& tx, std::span<Job> jobs,
                                std::vector<absl::Status>& results) {
    ASSIGN_OR_RETURN(Statement insert, tx.Prepare("INSERT INTO job (id, name) VALUES (?, ?)"));
    for (size_t i = 0; i < jobs.size(); ++i) {
      if (jobs[i].refuse) {
        results[i] = absl::FailedPreconditionError("refused");
        continue;
      }
      insert.Reset();
      RETURN_IF_ERROR(insert.Bind(1, jobs[i].id).Bind(2, "job").Run());
      if (jobs[i].sink) return absl::InternalError("the group cannot be written");
    }
    return absl::OkStatus();
  }

  std::unique_ptr<GroupCommitter<Job>> Start(GroupCommitOptions options = {}) {
    return std::make_unique<GroupCommitter<Job>>(
        *db_, options, &WriteJobs, [](Job& job, const absl::Status& status) { job.done(status); });
  }

  int64_t Count(const std::string& where = "1 = 1") {
    int64_t n = -1;
    EXPECT_TRUE(db_->Read([&](Transaction& tx) -> absl::Status {
                     ASSIGN_OR_RETURN(Statement stmt,
                                      tx.Prepare("SELECT COUNT(*) FROM job WHERE " + where));
                     ASSIGN_OR_RETURN(bool row, stmt.Step());
                     if (row) n = stmt.Int(0);
                     return absl::OkStatus();
                   })
                    .ok());
    return n;
  }

  testing::TempDir dir_;
  std::unique_ptr<Database> db_;
};

// Its writer and finisher carry names (runtime/base/thread_name.h), so a profile or `top -H` of a
// service tells them from gRPC's threads; a committer without a finisher thread has no finisher.
TEST_P(GroupCommitTest, ItsThreadsAreNamed) {
  auto count = [](const std::string& name) {
    int n = 0;
    for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
      std::ifstream comm(task.path() / "comm");
      std::string line;
      if (std::getline(comm, line) && line == name) ++n;
    }
    return n;
  };
  // A new thread names itself when it first runs: wait for that (5 s at most) before counting.
  auto named = [&](const std::string& name) {
    for (int i = 0; i < 500 && count(name) == 0; ++i) absl::SleepFor(absl::Milliseconds(10));
    return count(name);
  };
  {
    auto committer = Start();
    EXPECT_EQ(named("group-writer"), 1);
    EXPECT_EQ(named("group-finish"), 1);
  }
  EXPECT_EQ(count("group-writer"), 0);  // joined by the destructor
  auto inline_finish = Start({.finish_on_own_thread = false});
  EXPECT_EQ(named("group-writer"), 1);
  EXPECT_EQ(count("group-finish"), 0);
}

TEST_P(GroupCommitTest, EveryAcknowledgedJobIsWrittenAndGroupsAreShared) {
  constexpr int kThreads = 8, kEach = 40;
  int64_t expected = 0;
  // Jobs completed on the finisher thread and on the writer thread alike.
  for (const bool own_thread : {true, false}) {
    SCOPED_TRACE(own_thread ? "finisher thread" : "writer thread");
    auto committer = Start({.max_group = 64, .finish_on_own_thread = own_thread});
    std::atomic<int> acknowledged{0};
    std::atomic<int> pending{kThreads * kEach};
    absl::Notification all_done;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kEach; ++i) {
          committer->Submit(Job{.id = (own_thread ? 0 : 100000) + t * 1000 + i,
                                .done = [&](const absl::Status& status) {
                                  EXPECT_TRUE(status.ok()) << status;
                                  // On the finisher thread, inside the group's batch
                                  // (the audit log writes the group's events when it
                                  // closes); on the writer thread, outside any.
                                  EXPECT_EQ(CompletionBatch::Current() != nullptr, own_thread);
                                  if (status.ok()) acknowledged.fetch_add(1);
                                  if (pending.fetch_sub(1) == 1) all_done.Notify();
                                }});
        }
      });
    }
    for (std::thread& t : threads) t.join();
    ASSERT_TRUE(all_done.WaitForNotificationWithTimeout(absl::Seconds(60)));
    expected += kThreads * kEach;
    EXPECT_EQ(acknowledged.load(), kThreads * kEach);
    EXPECT_EQ(Count(), expected);
    EXPECT_EQ(committer->jobs_applied(), kThreads * kEach);
    EXPECT_GE(committer->groups_committed(), 1);
    EXPECT_LE(committer->groups_committed(), kThreads * kEach);
  }
}

TEST_P(GroupCommitTest, ARefusedJobFailsAloneAndAFailedGroupLeavesNothing) {
  // Jobs queue while the writer is held on a first group, so the next group holds all three.
  absl::Notification release;
  auto blocker = std::make_unique<GroupCommitter<Job>>(
      *db_, GroupCommitOptions{},
      [&](Transaction& tx, std::span<Job> jobs, std::vector<absl::Status>& results) {
        if (jobs[0].id == 0) release.WaitForNotification();
        return WriteJobs(tx, jobs, results);
      },
      [](Job& job, const absl::Status& status) { job.done(status); });
  std::vector<absl::Status> got(7, absl::UnknownError("not completed"));
  absl::Notification finished[7];
  const auto done = [&](int i) {
    return [&, i](const absl::Status& status) {
      got[i] = status;
      finished[i].Notify();
    };
  };
  blocker->Submit(Job{.id = 0, .done = done(0)});
  blocker->Submit(Job{.id = 1, .done = done(1)});
  blocker->Submit(Job{.id = 2, .refuse = true, .done = done(2)});
  blocker->Submit(Job{.id = 3, .done = done(3)});
  release.Notify();
  for (int i = 0; i < 4; ++i)
    ASSERT_TRUE(finished[i].WaitForNotificationWithTimeout(absl::Seconds(60)));
  EXPECT_TRUE(got[0].ok()) << got[0];
  EXPECT_TRUE(got[1].ok()) << got[1];
  EXPECT_EQ(got[2].code(), absl::StatusCode::kFailedPrecondition) << got[2];
  EXPECT_TRUE(got[3].ok()) << got[3];
  EXPECT_EQ(Count("id = 2"), 0);
  EXPECT_EQ(Count(), 3);

  // A group whose function fails: nothing of it is written, every job hears UNAVAILABLE.
  absl::Notification hold, holding;
  auto failing = std::make_unique<GroupCommitter<Job>>(
      *db_, GroupCommitOptions{},
      [&](Transaction& tx, std::span<Job> jobs, std::vector<absl::Status>& results) {
        if (jobs[0].id == 10) {
          if (!holding.HasBeenNotified()) holding.Notify();
          hold.WaitForNotification();
        }
        return WriteJobs(tx, jobs, results);
      },
      [](Job& job, const absl::Status& status) { job.done(status); });
  failing->Submit(Job{.id = 10, .done = done(4)});
  ASSERT_TRUE(holding.WaitForNotificationWithTimeout(absl::Seconds(60)));  // 10 is alone
  failing->Submit(Job{.id = 11, .done = done(5)});
  failing->Submit(Job{.id = 12, .sink = true, .done = done(6)});
  hold.Notify();
  for (int i = 4; i < 7; ++i)
    ASSERT_TRUE(finished[i].WaitForNotificationWithTimeout(absl::Seconds(60)));
  EXPECT_TRUE(got[4].ok()) << got[4];  // its own group, before the failing one
  EXPECT_EQ(got[5].code(), absl::StatusCode::kUnavailable) << got[5];
  EXPECT_EQ(got[6].code(), absl::StatusCode::kUnavailable) << got[6];
  EXPECT_EQ(Count("id IN (11, 12)"), 0);
}

TEST_P(GroupCommitTest, TheQueueIsBoundedAndShutdownWritesWhatWasQueued) {
  absl::Notification release, taken;
  std::atomic<int> ok{0}, exhausted{0};
  {
    GroupCommitter<Job> committer(
        *db_, GroupCommitOptions{.max_queued = 3},
        [&](Transaction& tx, std::span<Job> jobs, std::vector<absl::Status>& results) {
          if (jobs[0].id == 0) {
            if (!taken.HasBeenNotified()) taken.Notify();
            release.WaitForNotification();
          }
          return WriteJobs(tx, jobs, results);
        },
        [](Job& job, const absl::Status& status) { job.done(status); });
    const auto count = [&](const absl::Status& status) {
      if (status.ok()) ok.fetch_add(1);
      if (status.code() == absl::StatusCode::kResourceExhausted) exhausted.fetch_add(1);
    };
    committer.Submit(Job{.id = 0, .done = count});
    ASSERT_TRUE(taken.WaitForNotificationWithTimeout(absl::Seconds(60)));
    // The writer holds job 0: three fit in the queue, the next two are refused at once.
    for (int i = 1; i <= 5; ++i) committer.Submit(Job{.id = i, .done = count});
    EXPECT_EQ(exhausted.load(), 2);
    release.Notify();
    // The destructor writes what was queued and completes it before returning.
  }
  EXPECT_EQ(ok.load(), 4);
  EXPECT_EQ(Count(), 4);
}

TEST_P(GroupCommitTest, ARequestIdReplaysOnlyForTheSameMethodPrincipalAndRequest) {
  const RequestKey key{.request_id = "req-1",
                       .method = "CreateThing",
                       .principal = "alice",
                       .request_hash = "hash-1"};
  const std::string reply("reply\0with NUL", 14);
  ASSERT_TRUE(db_->Write([&](Transaction& tx) -> absl::Status {
                   ASSIGN_OR_RETURN(IdempotencyRecord record, IdempotencyRecord::Prepare(tx));
                   ASSIGN_OR_RETURN(std::optional<std::string> found, record.Find(key));
                   EXPECT_FALSE(found.has_value());
                   return record.Store(key, reply, 1);
                 })
                  .ok());
  const auto find = [&](const RequestKey& k) {
    absl::StatusOr<std::optional<std::string>> out;
    EXPECT_TRUE(db_->Write([&](Transaction& tx) -> absl::Status {
                     ASSIGN_OR_RETURN(IdempotencyRecord record, IdempotencyRecord::Prepare(tx));
                     out = record.Find(k);
                     return absl::OkStatus();
                   })
                    .ok());
    return out;
  };
  absl::StatusOr<std::optional<std::string>> same = find(key);
  ASSERT_TRUE(same.ok()) << same.status();
  ASSERT_TRUE(same->has_value());
  EXPECT_EQ(**same, reply);

  RequestKey other_hash = key, other_principal = key, other_method = key;
  other_hash.request_hash = "hash-2";
  other_principal.principal = "mallory";
  other_method.method = "DeleteThing";
  for (const RequestKey& k : {other_hash, other_principal, other_method}) {
    absl::StatusOr<std::optional<std::string>> reused = find(k);
    EXPECT_EQ(reused.status().code(), absl::StatusCode::kAlreadyExists) << reused.status();
    EXPECT_NE(reused.status().message().find("request_id"), std::string_view::npos);
    // The refusal never carries the other call's reply.
    EXPECT_EQ(reused.status().message().find("reply"), std::string_view::npos);
  }
  // No id: no idempotency asked for; nothing is stored.
  RequestKey none = key;
  none.request_id = "";
  absl::StatusOr<std::optional<std::string>> nothing = find(none);
  ASSERT_TRUE(nothing.ok());
  EXPECT_FALSE(nothing->has_value());
  ASSERT_TRUE(db_->Write([&](Transaction& tx) -> absl::Status {
                   ASSIGN_OR_RETURN(IdempotencyRecord record, IdempotencyRecord::Prepare(tx));
                   return record.Store(none, "x", 2);
                 })
                  .ok());
  // A second record for the same id is refused by the key (a lost race is never a second write).
  const absl::Status twice = db_->Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(IdempotencyRecord record, IdempotencyRecord::Prepare(tx));
    return record.Store(key, "again", 3);
  });
  EXPECT_EQ(twice.code(), absl::StatusCode::kAlreadyExists) << twice;
}

// A group keeps its calls' records and writes them together before its commit (StoreLater,
// Flush: multi-row INSERTs of 64, 32, ... rows). Inside the group a repeated request_id is
// answered from the kept record (same request: the first reply; other content or caller:
// REQUEST_ID_REUSED), a refused call keeps no record, and each id is written exactly once.
TEST_P(GroupCommitTest, RecordsKeptInAGroupAreSeenAtOnceAndWrittenOnce) {
  struct Call {
    RequestKey key;
    bool refuse = false;
  };
  std::vector<Call> calls;
  const auto key = [](int n, const std::string& principal = "alice",
                      const std::string& hash = "h") {
    return RequestKey{.request_id = absl::StrCat("req-", n),
                      .method = "CreateThing",
                      .principal = principal,
                      .request_hash = hash};
  };
  for (int n = 0; n < 70; ++n) calls.push_back({key(n)});  // 64 + 4 + 2 rows
  calls.push_back({key(3)});                               // a retry inside the group
  calls.push_back({key(4, "alice", "other")});             // same id, other content
  calls.push_back({key(5, "mallory")});                    // same id, other caller
  calls.push_back({key(70), /*refuse=*/true});             // refused: keeps no record
  calls.push_back({key(70)});                              // the same id, now accepted
  std::vector<absl::StatusOr<std::optional<std::string>>> found(calls.size());
  ASSERT_TRUE(db_->Write([&](Transaction& tx) -> absl::Status {
                   ASSIGN_OR_RETURN(IdempotencyRecord record, IdempotencyRecord::Prepare(tx));
                   for (size_t i = 0; i < calls.size(); ++i) {
                     found[i] = record.Find(calls[i].key);
                     if (!found[i].ok() || found[i]->has_value() || calls[i].refuse) continue;
                     record.StoreLater(calls[i].key, absl::StrCat("reply-", i), 10);
                   }
                   return record.Flush();
                 })
                  .ok());
  for (size_t i = 0; i < 70; ++i) {
    ASSERT_TRUE(found[i].ok()) << found[i].status();
    EXPECT_FALSE(found[i]->has_value()) << i;
  }
  ASSERT_TRUE(found[70].ok()) << found[70].status();
  ASSERT_TRUE(found[70]->has_value());
  EXPECT_EQ(**found[70], "reply-3");
  EXPECT_EQ(found[71].status().code(), absl::StatusCode::kAlreadyExists) << found[71].status();
  EXPECT_EQ(found[72].status().code(), absl::StatusCode::kAlreadyExists) << found[72].status();
  ASSERT_TRUE(found[74].ok()) << found[74].status();
  EXPECT_FALSE(found[74]->has_value());

  // Committed: 71 records (ids 0..70), each once, each with its own reply.
  int64_t records = -1;
  ASSERT_TRUE(db_->Read([&](Transaction& tx) -> absl::Status {
                   ASSIGN_OR_RETURN(Statement count,
                                    tx.Prepare("SELECT COUNT(*), COUNT(DISTINCT request_id) "
                                               "FROM idempotency_records"));
                   ASSIGN_OR_RETURN(bool row, count.Step());
                   EXPECT_TRUE(row);
                   records = count.Int(0);
                   EXPECT_EQ(count.Int(1), records);
                   return absl::OkStatus();
                 })
                  .ok());
  EXPECT_EQ(records, 71);
  ASSERT_TRUE(db_->Write([&](Transaction& tx) -> absl::Status {
                   ASSIGN_OR_RETURN(IdempotencyRecord record, IdempotencyRecord::Prepare(tx));
                   for (int n : {0, 63, 64, 69}) {
                     ASSIGN_OR_RETURN(std::optional<std::string> reply, record.Find(key(n)));
                     EXPECT_EQ(reply.value_or("none"), absl::StrCat("reply-", n));
                   }
                   ASSIGN_OR_RETURN(std::optional<std::string> last, record.Find(key(70)));
                   EXPECT_EQ(last.value_or("none"), "reply-74");
                   // Nothing kept: Flush writes nothing.
                   return record.Flush();
                 })
                  .ok());
}

// Prefetch reads a group's records with a few statements (IN lists of 64, 32, ..., 1 ids); Find
// then answers those ids as it would from the table: a stored record replays only for the same
// method, principal and hash, an absent one is absent, and a record stored later in the
// transaction (Store, or StoreLater then Flush) is what Find sees after it.
TEST_P(GroupCommitTest, PrefetchedRecordsAnswerAsTheTableDoes) {
  const auto key = [](int n, const std::string& principal = "alice") {
    return RequestKey{.request_id = absl::StrCat("req-", n),
                      .method = "CreateThing",
                      .principal = principal,
                      .request_hash = "h"};
  };
  ASSERT_TRUE(db_->Write([&](Transaction& tx) -> absl::Status {
                   ASSIGN_OR_RETURN(IdempotencyRecord record, IdempotencyRecord::Prepare(tx));
                   for (int n : {0, 40, 65}) {
                     RETURN_IF_ERROR(record.Store(key(n), absl::StrCat("stored-", n), 1));
                   }
                   return absl::OkStatus();
                 })
                  .ok());
  std::vector<std::string> ids = {"", "req-0"};  // an empty id and a repeated one are skipped
  for (int n = 0; n < 70; ++n) ids.push_back(absl::StrCat("req-", n));  // 64 + 4 + 2 ids
  ASSERT_TRUE(db_->Write([&](Transaction& tx) -> absl::Status {
                   ASSIGN_OR_RETURN(IdempotencyRecord record, IdempotencyRecord::Prepare(tx));
                   RETURN_IF_ERROR(record.Prefetch(ids));
                   for (int n = 0; n < 70; ++n) {
                     ASSIGN_OR_RETURN(std::optional<std::string> found, record.Find(key(n)));
                     const bool stored = n == 0 || n == 40 || n == 65;
                     EXPECT_EQ(found.value_or("none"), stored ? absl::StrCat("stored-", n) : "none")
                         << n;
                   }
                   EXPECT_EQ(record.Find(key(40, "mallory")).status().code(),
                             absl::StatusCode::kAlreadyExists);
                   // Stored after the prefetch said none: Find sees it (and a second Store is
                   // refused).
                   RETURN_IF_ERROR(record.Store(key(1), "now", 2));
                   ASSIGN_OR_RETURN(std::optional<std::string> now, record.Find(key(1)));
                   EXPECT_EQ(now.value_or("none"), "now");
                   // Kept and flushed after the prefetch said none: Find answers the kept reply.
                   record.StoreLater(key(2), "kept", 3);
                   RETURN_IF_ERROR(record.Flush());
                   ASSIGN_OR_RETURN(std::optional<std::string> kept, record.Find(key(2)));
                   EXPECT_EQ(kept.value_or("none"), "kept");
                   EXPECT_EQ(record.Find(key(2, "mallory")).status().code(),
                             absl::StatusCode::kAlreadyExists);
                   // An id not prefetched is read from the table as before.
                   ASSIGN_OR_RETURN(std::optional<std::string> other, record.Find(key(99)));
                   EXPECT_FALSE(other.has_value());
                   return absl::OkStatus();
                 })
                  .ok());
  // Committed: the three stored before and the two written after the prefetch, once each.
  int64_t records = -1;
  ASSERT_TRUE(db_->Read([&](Transaction& tx) -> absl::Status {
                   ASSIGN_OR_RETURN(Statement count,
                                    tx.Prepare("SELECT COUNT(*) FROM idempotency_records"));
                   ASSIGN_OR_RETURN(bool row, count.Step());
                   EXPECT_TRUE(row);
                   records = count.Int(0);
                   return absl::OkStatus();
                 })
                  .ok());
  EXPECT_EQ(records, 5);
}

// The linger (linger_policy.h): once a group of three was seen, a lone job waits for two more
// and the three commit together; shutdown ends a linger at once. The bound is longer than the
// test's timeout, so a linger that ran to its bound (or a destructor that waited it out) fails
// the test instead of passing slowly.
TEST_P(GroupCommitTest, ConcurrentJobsAreLingeredForAndASequentialSubmitterIsNot) {
  absl::Notification release, taken;
  auto committer = std::make_unique<GroupCommitter<Job>>(
      *db_, GroupCommitOptions{.linger = absl::Minutes(10)},
      [&](Transaction& tx, std::span<Job> jobs, std::vector<absl::Status>& results) {
        if (jobs[0].id == 0) {
          if (!taken.HasBeenNotified()) taken.Notify();
          release.WaitForNotification();
        }
        return WriteJobs(tx, jobs, results);
      },
      [](Job& job, const absl::Status& status) { job.done(status); });
  std::atomic<int> ok{0};
  const auto submit = [&](int64_t id, absl::Notification* done) {
    committer->Submit(Job{.id = id, .done = [&ok, done](const absl::Status& status) {
                            EXPECT_TRUE(status.ok()) << status;
                            if (status.ok()) ok.fetch_add(1);
                            done->Notify();
                          }});
  };
  // A first group of one (no group seen yet: no linger), then three queued behind it.
  absl::Notification first[4];
  submit(0, &first[0]);
  ASSERT_TRUE(taken.WaitForNotificationWithTimeout(absl::Seconds(60)));
  for (int i = 1; i < 4; ++i) submit(i, &first[i]);
  release.Notify();
  for (absl::Notification& done : first)
    ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(60)));
  EXPECT_EQ(committer->groups_committed(), 2);
  EXPECT_EQ(committer->lingers(), 0);

  // Concurrent submitters: the writer lingers on a lone job until three are queued.
  absl::Notification second[3];
  submit(10, &second[0]);
  ASSERT_TRUE(committer->AwaitLingering(absl::Seconds(60)));
  submit(11, &second[1]);
  submit(12, &second[2]);
  for (absl::Notification& done : second)
    ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(60)));
  EXPECT_EQ(committer->groups_committed(), 3);  // all three in one group
  EXPECT_EQ(committer->lingers(), 1);
  EXPECT_EQ(committer->linger_caught(), 2);

  // Shutdown in the middle of a linger (nothing else is coming, so only the bound would end it):
  // the destructor ends it at once and the job is written.
  absl::Notification last;
  submit(20, &last);
  ASSERT_TRUE(committer->AwaitLingering(absl::Seconds(60)));
  committer.reset();
  EXPECT_TRUE(last.HasBeenNotified());
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(Count("id = 20"), 1);
}

// A sequential submitter (its next job only after the last was acknowledged) is lingered for
// only while the policy still remembers a group of three, never after.
TEST_P(GroupCommitTest, ASequentialSubmitterStopsBeingLingeredFor) {
  constexpr int kSequential = 60;
  absl::Notification release, taken;
  GroupCommitter<Job> committer(
      *db_, GroupCommitOptions{.linger = absl::Milliseconds(2)},
      [&](Transaction& tx, std::span<Job> jobs, std::vector<absl::Status>& results) {
        if (jobs[0].id == 0) {
          if (!taken.HasBeenNotified()) taken.Notify();
          release.WaitForNotification();
        }
        return WriteJobs(tx, jobs, results);
      },
      [](Job& job, const absl::Status& status) { job.done(status); });
  const auto write = [&](int64_t id) {
    absl::Notification done;
    committer.Submit(Job{.id = id, .done = [&done](const absl::Status& status) {
                           EXPECT_TRUE(status.ok()) << status;
                           done.Notify();
                         }});
    return done.WaitForNotificationWithTimeout(absl::Seconds(60));
  };
  // A group of three is seen (as above), so the policy has reason to linger at first.
  absl::Notification first[4];
  for (int i = 0; i < 4; ++i) {
    committer.Submit(Job{.id = i, .done = [&first, i](const absl::Status&) { first[i].Notify(); }});
    if (i == 0) {
      ASSERT_TRUE(taken.WaitForNotificationWithTimeout(absl::Seconds(60)));
    }
  }
  release.Notify();
  for (absl::Notification& done : first)
    ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(60)));
  ASSERT_EQ(committer.groups_committed(), 2);
  // One job at a time, each after the last was acknowledged: every job is its own group, a few
  // lingers (none catching anything) happen while the group of three is remembered, then none.
  for (int i = 0; i < kSequential; ++i) ASSERT_TRUE(write(100 + i));
  const int64_t learned = committer.lingers();
  EXPECT_LE(learned, 16);  // at most the policy's window
  EXPECT_EQ(committer.linger_caught(), 0);
  for (int i = 0; i < kSequential; ++i) ASSERT_TRUE(write(200 + i));
  EXPECT_EQ(committer.lingers(), learned);  // never again
  EXPECT_EQ(committer.groups_committed(), 2 + 2 * kSequential);
}

INSTANTIATE_TEST_SUITE_P(Engines, GroupCommitTest,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const ::testing::TestParamInfo<Engine>& info) {
                           return std::string(EngineName(info.param));
                         });

}  // namespace
}  // namespace dorset::runtime::storage
