// The audit outbox (runtime/audit/audit_outbox.h, issue 16) on both engines (ctest labels
// `sqlite` and `postgres`): a group committer writes its calls' events in the group's own
// transaction and marks each call only after the commit; the AuditLog moves the rows into the
// trail in commit order with gap-free sequences, exactly once across a restart, and Flush moves
// them first; a group that rolls back leaves no row and marks no call (its calls record through
// AuditLog::Record, as UnaryCall::Complete does when its mark is missing).
#include "runtime/audit/audit_outbox.h"

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "engines.h"
#include "gtest/gtest.h"
#include "runtime/audit/audit_log.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/group_commit.h"
#include "runtime/storage/transact.h"
#include "runtime/testing/test_host.h"
#include "storage_commit_test_migrations.h"

namespace dorset::runtime::storage {
namespace {

// What the committed hook saw of a job's call (UnaryCall::MarkAuditCommitted's stand-in).
struct CallState {
  std::atomic<int> marked{-1};
};

struct Job {
  int64_t id = 0;
  bool refuse = false;  // refused alone (its event is still written, with its outcome)
  bool sink = false;    // fails the whole group
  OutboxedAudit audit = {};
  std::function<void(const absl::Status&)> done = nullptr;
};

common::v1::AuditEvent EventOf(int64_t id, const absl::Status& status) {
  common::v1::AuditEvent e;
  e.set_principal("tester");
  e.set_method("/dorset.test.v1.Test/Write");
  e.set_resource(absl::StrCat("jobs/", id));
  e.set_action("WRITE");
  e.set_request_id(absl::StrCat("job-", id));
  e.set_outcome(absl::StatusCodeToString(status.code()));
  e.mutable_time()->set_seconds(1700000000 + id);
  return e;
}

// The event EventOf gives as an outbox row (OutboxedAudit::row_for, as UnaryCall gives it),
// viewing strings that outlive the group's transaction.
OutboxedAudit AuditFor(int64_t id, CallState& call) {
  OutboxedAudit audit;
  auto held = std::make_shared<common::v1::AuditEvent>();
  audit.row_for = [id, held](const absl::Status& status, const google::protobuf::Message*,
                             OutboxRow& row) {
    *held = EventOf(id, status);
    row.time_us = held->time().seconds() * 1000000;
    row.principal = held->principal();
    row.method = held->method();
    row.resource = held->resource();
    row.action = held->action();
    row.request_id = held->request_id();
    row.outcome = held->outcome();
    return true;
  };
  audit.mark_committed = [&call](absl::StatusCode code) { call.marked = static_cast<int>(code); };
  return audit;
}

class AuditOutboxTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    DORSET_DATABASE_FOR_ENGINE(GetParam(), url_);
    // As a service opens its store: `database` ("" = <data_dir>/finance.db), data_dir, service.
    absl::StatusOr<DatabaseUrl> parsed = ParseDatabaseUrl(url_, dir_.path(), "finance");
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    absl::StatusOr<std::unique_ptr<Database>> db =
        OpenDatabase(*parsed, {}, migrations::StorageCommitTestMigrations);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
  }

  // The process's audit trail, as ServiceHost opens it for this store's settings.
  std::unique_ptr<AuditLog> OpenAudit() {
    ServerConfig config = dorset::testing::TestServerConfig("finance", dir_.path());
    config.database = url_;
    absl::StatusOr<std::unique_ptr<AuditLog>> audit = AuditLog::Open(config);
    EXPECT_TRUE(audit.ok()) << audit.status();
    return audit.ok() ? *std::move(audit) : nullptr;
  }

  // A committer whose groups write job rows and, with `outbox`, their events. With `hold`, the
  // group that starts with job 1 waits for it (after notifying `holding`), so that the jobs
  // submitted meanwhile form the next group together.
  std::unique_ptr<GroupCommitter<Job>> Start(AuditOutbox* outbox,
                                             absl::Notification* hold = nullptr,
                                             absl::Notification* holding = nullptr) {
    return std::make_unique<GroupCommitter<Job>>(
        *db_, GroupCommitOptions{.max_group = 16, .finish_on_own_thread = true},
        [outbox, hold, holding](Transaction& tx, std::span<Job> jobs,
                                std::vector<absl::Status>& results) -> absl::Status {
          if (hold != nullptr && jobs[0].id == 1) {
            if (!holding->HasBeenNotified()) holding->Notify();
            hold->WaitForNotification();
          }
          ASSIGN_OR_RETURN(Statement insert,
                           tx.Prepare("INSERT INTO job (id, name) VALUES (?, ?)"));
          for (size_t i = 0; i < jobs.size(); ++i) {
            if (jobs[i].refuse) {
              results[i] = absl::FailedPreconditionError("refused");
              continue;
            }
            insert.Reset();
            RETURN_IF_ERROR(insert.Bind(1, jobs[i].id).Bind(2, "job").Run());
          }
          std::vector<OutboxRow> rows;
          for (size_t i = 0; i < jobs.size(); ++i) jobs[i].audit.Collect(results[i], nullptr, rows);
          if (outbox != nullptr) RETURN_IF_ERROR(outbox->Append(tx, rows));
          for (const Job& job : jobs) {
            if (job.sink) return absl::InternalError("the group cannot be written");
          }
          return absl::OkStatus();
        },
        [](Job& job, const absl::Status& status) { job.done(status); },
        [outbox](std::span<Job> jobs) {
          if (outbox != nullptr) outbox->GroupCommitted(jobs);
        });
  }

  int64_t Count(const std::string& sql) {
    absl::StatusOr<int64_t> n =
        ReadReturning(*db_, [&](Transaction& tx) -> absl::StatusOr<int64_t> {
          ASSIGN_OR_RETURN(Statement stmt, tx.Prepare(sql));
          ASSIGN_OR_RETURN(bool row, stmt.Step());
          return row ? stmt.Int(0) : -1;
        });
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : -1;
  }

  // Rows a crash left: committed to the outbox, never moved.
  void LeaveInOutbox(const std::vector<int64_t>& ids) {
    ASSERT_TRUE(db_->Write([&](Transaction& tx) -> absl::Status {
                     ASSIGN_OR_RETURN(
                         Statement insert,
                         tx.Prepare("INSERT INTO audit_outbox(time_us, principal, "
                                    "method, resource, action, request_id, outcome) "
                                    "VALUES (?, 'tester', 'm', 'r', 'WRITE', ?, 'OK')"));
                     for (int64_t id : ids) {
                       insert.Reset();
                       RETURN_IF_ERROR(insert.Bind(1, id).Bind(2, absl::StrCat("job-", id)).Run());
                     }
                     return absl::OkStatus();
                   })
                    .ok());
  }

  static std::vector<common::v1::AuditEvent> ListAll(AuditLog& audit) {
    EXPECT_TRUE(audit.Flush());
    std::vector<common::v1::AuditEvent> events;
    common::v1::ListAuditEventsRequest request;
    request.set_page_size(1000);
    while (true) {
      absl::StatusOr<common::v1::ListAuditEventsResponse> page = audit.List(request);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) return events;
      events.insert(events.end(), page->events().begin(), page->events().end());
      if (page->next_page_token().empty()) return events;
      request.set_page_token(page->next_page_token());
    }
  }

  static void ExpectGapFree(const std::vector<common::v1::AuditEvent>& events) {
    for (size_t i = 1; i < events.size(); ++i) {
      EXPECT_EQ(events[i].sequence(), events[i - 1].sequence() + 1) << "after #" << i - 1;
    }
  }

  testing::TempDir dir_;
  std::string url_;  // "" on SQLite: <data_dir>/finance.db, as a service's default
  std::unique_ptr<Database> db_;
};

TEST_P(AuditOutboxTest, EventsAreCommittedWithTheirGroupsAndReachTheTrailInCommitOrder) {
  std::unique_ptr<AuditLog> audit = OpenAudit();
  ASSERT_NE(audit, nullptr);
  std::unique_ptr<AuditOutbox> outbox = audit->AttachOutbox(*db_, "finance");
  ASSERT_NE(outbox, nullptr);
  auto committer = Start(outbox.get());

  // Four writers submit jobs (every seventh refused) while other calls record as before.
  constexpr int kThreads = 4, kEach = 50;
  std::vector<CallState> calls(kThreads * kEach);
  std::mutex mu;
  std::vector<std::string> acknowledged_order;  // request ids in the order their calls finished
  std::atomic<int> pending{kThreads * kEach};
  absl::Notification all_done;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const int64_t id = t * kEach + i;
        CallState& call = calls[id];
        committer->Submit(Job{.id = id,
                              .refuse = id % 7 == 3,
                              .audit = AuditFor(id, call),
                              .done = [&, id](const absl::Status& status) {
                                // Marked before it finishes, for exactly the status it ends with.
                                EXPECT_EQ(call.marked.load(), static_cast<int>(status.code()));
                                {
                                  std::lock_guard<std::mutex> lock(mu);
                                  acknowledged_order.push_back(absl::StrCat("job-", id));
                                }
                                if (pending.fetch_sub(1) == 1) all_done.Notify();
                              }});
        if (i % 10 == 0) {
          common::v1::AuditEvent other = EventOf(100000 + id, absl::OkStatus());
          audit->Record(other);
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_TRUE(all_done.WaitForNotificationWithTimeout(absl::Seconds(60)));

  // Read right after the last acknowledgement: Flush moves the outbox first.
  const std::vector<common::v1::AuditEvent> events = ListAll(*audit);
  ExpectGapFree(events);
  std::vector<std::string> from_outbox;
  int others = 0;
  for (const common::v1::AuditEvent& e : events) {
    const int64_t id = std::stoll(e.request_id().substr(4));
    if (id >= 100000) {
      ++others;
      continue;
    }
    from_outbox.push_back(e.request_id());
    EXPECT_EQ(e.outcome(), id % 7 == 3 ? "FAILED_PRECONDITION" : "OK") << e.request_id();
    EXPECT_EQ(e.resource(), absl::StrCat("jobs/", id));
    EXPECT_EQ(e.time().seconds(), 1700000000 + id);  // every field carried over
  }
  EXPECT_EQ(others, kThreads * kEach / 10);
  // Each acknowledged call's event once, in the order the groups committed (the finisher
  // completes groups in commit order, each group's jobs in order).
  EXPECT_EQ(from_outbox, acknowledged_order);

  // Everything moved: on PostgreSQL the rows are gone; on SQLite the next group after the trail's
  // next sync point (here the commit of a recorded event) deletes them.
  audit->Record(EventOf(200000, absl::OkStatus()));
  ASSERT_TRUE(audit->Flush());
  CallState last;
  committer->Submit(
      Job{.id = 9999, .audit = AuditFor(9999, last), .done = [](const absl::Status&) {}});
  committer.reset();
  EXPECT_EQ(Count("SELECT COUNT(*) FROM job"), kThreads * kEach - (kThreads * kEach + 3) / 7 + 1);
  outbox.reset();  // moves job 9999's event
  if (GetParam() == Engine::kPostgres) {
    EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_outbox"), 0);
  }
  EXPECT_LE(Count("SELECT COUNT(*) FROM audit_outbox"), 1);
  EXPECT_EQ(ListAll(*audit).size(), events.size() + 2);
}

// The rows services' group committers collect (OutboxRow, viewing the calls' strings) reach the
// trail with every column of their events.
TEST_P(AuditOutboxTest, RowsCollectedWithoutMessagesReachTheTrailAsTheirEvents) {
  std::unique_ptr<AuditLog> audit = OpenAudit();
  ASSERT_NE(audit, nullptr);
  std::unique_ptr<AuditOutbox> outbox = audit->AttachOutbox(*db_, "finance");
  ASSERT_NE(outbox, nullptr);
  auto committer = Start(outbox.get());
  constexpr int kJobs = 20;
  std::vector<CallState> calls(kJobs);
  std::atomic<int> pending{kJobs};
  absl::Notification all_done;
  for (int64_t id = 0; id < kJobs; ++id) {
    CallState& call = calls[id];
    committer->Submit(Job{.id = id,
                          .refuse = id % 7 == 3,
                          .audit = AuditFor(id, call),
                          .done = [&, id](const absl::Status& status) {
                            EXPECT_EQ(call.marked.load(), static_cast<int>(status.code())) << id;
                            if (pending.fetch_sub(1) == 1) all_done.Notify();
                          }});
  }
  ASSERT_TRUE(all_done.WaitForNotificationWithTimeout(absl::Seconds(60)));
  const std::vector<common::v1::AuditEvent> events = ListAll(*audit);
  ASSERT_EQ(events.size(), static_cast<size_t>(kJobs));
  ExpectGapFree(events);
  for (const common::v1::AuditEvent& e : events) {
    const int64_t id = std::stoll(e.request_id().substr(4));
    const common::v1::AuditEvent want =
        EventOf(id, id % 7 == 3 ? absl::FailedPreconditionError("refused") : absl::OkStatus());
    EXPECT_EQ(e.principal(), want.principal()) << id;
    EXPECT_EQ(e.method(), want.method()) << id;
    EXPECT_EQ(e.resource(), want.resource()) << id;
    EXPECT_EQ(e.action(), want.action()) << id;
    EXPECT_EQ(e.request_id(), want.request_id()) << id;
    EXPECT_EQ(e.outcome(), want.outcome()) << id;
    EXPECT_EQ(e.time().seconds(), want.time().seconds()) << id;
  }
  committer.reset();
}

TEST_P(AuditOutboxTest, RowsLeftByACrashReachTheTrailOnceAfterRestart) {
  // A crash after the groups committed and before the writer moved their rows.
  LeaveInOutbox({1, 2, 3});
  {
    std::unique_ptr<AuditLog> audit = OpenAudit();
    ASSERT_NE(audit, nullptr);
    std::unique_ptr<AuditOutbox> outbox = audit->AttachOutbox(*db_, "finance");
    ASSERT_NE(outbox, nullptr);
    const std::vector<common::v1::AuditEvent> events = ListAll(*audit);
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(events[0].request_id(), "job-1");
    EXPECT_EQ(events[2].request_id(), "job-3");
  }
  // On SQLite the moved rows may still be in the store (no group deleted them) when the process
  // dies; new rows come after them. The next start moves only the new ones.
  LeaveInOutbox({4, 5});
  std::unique_ptr<AuditLog> audit = OpenAudit();
  ASSERT_NE(audit, nullptr);
  std::unique_ptr<AuditOutbox> outbox = audit->AttachOutbox(*db_, "finance");
  ASSERT_NE(outbox, nullptr);
  const std::vector<common::v1::AuditEvent> events = ListAll(*audit);
  ASSERT_EQ(events.size(), 5u);
  ExpectGapFree(events);
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].request_id(), absl::StrCat("job-", i + 1));
  }
  // Attaching deleted what the trail holds.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_outbox WHERE request_id IN ('job-1', 'job-2')"), 0);
}

TEST_P(AuditOutboxTest, ARolledBackGroupLeavesNoRowAndMarksNoCall) {
  std::unique_ptr<AuditLog> audit = OpenAudit();
  ASSERT_NE(audit, nullptr);
  std::unique_ptr<AuditOutbox> outbox = audit->AttachOutbox(*db_, "finance");
  ASSERT_NE(outbox, nullptr);
  absl::Notification hold, holding;
  auto committer = Start(outbox.get(), &hold, &holding);
  CallState calls[4];
  absl::Notification done[4];
  std::vector<absl::Status> got(4);
  auto finish = [&](int i) {
    return [&, i](const absl::Status& status) {
      got[i] = status;
      done[i].Notify();
    };
  };
  committer->Submit(Job{.id = 1, .audit = AuditFor(1, calls[0]), .done = finish(0)});
  ASSERT_TRUE(holding.WaitForNotificationWithTimeout(absl::Seconds(60)));  // job 1 alone
  // The next group: jobs 2, 3 and 4, and job 4 sinks it after every event was appended.
  committer->Submit(Job{.id = 2, .audit = AuditFor(2, calls[1]), .done = finish(1)});
  committer->Submit(
      Job{.id = 3, .refuse = true, .audit = AuditFor(3, calls[2]), .done = finish(2)});
  committer->Submit(Job{.id = 4, .sink = true, .audit = AuditFor(4, calls[3]), .done = finish(3)});
  hold.Notify();
  for (absl::Notification& d : done)
    ASSERT_TRUE(d.WaitForNotificationWithTimeout(absl::Seconds(60)));
  EXPECT_TRUE(got[0].ok()) << got[0];
  EXPECT_EQ(calls[0].marked.load(), static_cast<int>(absl::StatusCode::kOk));
  for (int i = 1; i < 4; ++i) {
    // UNAVAILABLE, and never marked: UnaryCall::Complete records it through AuditLog::Record.
    EXPECT_EQ(got[i].code(), absl::StatusCode::kUnavailable) << i << ": " << got[i];
    EXPECT_EQ(calls[i].marked.load(), -1) << i;
  }
  committer.reset();
  EXPECT_EQ(Count("SELECT COUNT(*) FROM job"), 1);
  const std::vector<common::v1::AuditEvent> events = ListAll(*audit);
  ASSERT_EQ(events.size(), 1u);  // the rolled-back group's events went with it
  EXPECT_EQ(events[0].request_id(), "job-1");
  if (GetParam() == Engine::kPostgres) {
    EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_outbox"), 0);
  }
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_outbox WHERE request_id <> 'job-1'"), 0);
}

TEST_P(AuditOutboxTest, ASwitchOrAMissingTableLeavesCallsOnTheOldPath) {
  std::unique_ptr<AuditLog> audit = OpenAudit();
  ASSERT_NE(audit, nullptr);
  setenv("DORSET_AUDIT_OUTBOX", "off", 1);
  EXPECT_EQ(audit->AttachOutbox(*db_, "finance"), nullptr);
  unsetenv("DORSET_AUDIT_OUTBOX");
  ASSERT_TRUE(db_->Write([](Transaction& tx) { return tx.Exec("DROP TABLE audit_outbox"); }).ok());
  EXPECT_EQ(audit->AttachOutbox(*db_, "finance"), nullptr);
}

// DORSET_AUDIT_TRAIL_SYNC for one test: the trail's sync points then come only from what the
// test does (a recorded event's commit, shutdown), not from the clock.
class TrailSyncSetting {
 public:
  explicit TrailSyncSetting(const char* value) { setenv("DORSET_AUDIT_TRAIL_SYNC", value, 1); }
  ~TrailSyncSetting() { unsetenv("DORSET_AUDIT_TRAIL_SYNC"); }
};

// Submits jobs one by one, each answered before the next (each its own group).
void RunJobs(GroupCommitter<Job>& committer, int64_t first, int64_t last,
             std::vector<CallState>& calls) {
  for (int64_t id = first; id <= last; ++id) {
    absl::Notification done;
    committer.Submit(Job{
        .id = id, .audit = AuditFor(id, calls[id]), .done = [&done](const absl::Status& status) {
          EXPECT_TRUE(status.ok()) << status;
          done.Notify();
        }});
    ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(60)));
  }
}

common::v1::AuditEvent Direct(const std::string& name) {
  common::v1::AuditEvent e;
  e.set_principal("tester");
  e.set_method("/dorset.test.v1.Test/Read");
  e.set_resource("jobs");
  e.set_action("READ");
  e.set_request_id(name);
  e.set_outcome("OK");
  return e;
}

// Session 15: on SQLite the trail commits its moves without a sync (synchronous=NORMAL), so a
// store may delete outbox rows only up to what the trail holds durably, i.e. as of its last sync
// point (here: the commit of an event recorded directly, which a call waits for, is FULL).
TEST_P(AuditOutboxTest, OutboxRowsAreDeletedOnlyUpToTheTrailsDurableMark) {
  TrailSyncSetting no_timed_sync("1h");
  std::unique_ptr<AuditLog> audit = OpenAudit();
  ASSERT_NE(audit, nullptr);
  std::unique_ptr<AuditOutbox> outbox = audit->AttachOutbox(*db_, "finance");
  ASSERT_NE(outbox, nullptr);
  auto committer = Start(outbox.get());
  std::vector<CallState> calls(20);
  ASSERT_NO_FATAL_FAILURE(RunJobs(*committer, 1, 10, calls));
  ASSERT_EQ(ListAll(*audit).size(), 10u);  // moved (on SQLite: committed, not synced)
  ASSERT_NO_FATAL_FAILURE(RunJobs(*committer, 11, 11, calls));  // a group after the move
  const std::string first_ten =
      "SELECT COUNT(*) FROM audit_outbox WHERE CAST(substr(request_id, 5) AS INTEGER) <= 10";
  // PostgreSQL: the move deleted them (one database, one transaction). SQLite: the trail's mark
  // is not durable yet, so the group deleted none of them.
  EXPECT_EQ(Count(first_ten), GetParam() == Engine::kSqlite ? 10 : 0);

  audit->Record(Direct("direct-1"));  // its commit is a sync point of the trail
  ASSERT_TRUE(audit->Flush());
  ASSERT_NO_FATAL_FAILURE(RunJobs(*committer, 12, 12, calls));  // the next group deletes them
  EXPECT_EQ(Count(first_ten), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_outbox WHERE request_id = 'job-11'"), 0);
  committer.reset();
  outbox.reset();
  EXPECT_EQ(ListAll(*audit).size(), 13u);
}

// A power loss takes the trail's unsynced tail: audit.db and its WAL go back to what they held at
// the last sync point (copied there, when the files hold exactly what is durable), while the
// store keeps every commit (synchronous=FULL). Every acknowledged call's event still ends in the
// trail exactly once: the lost moves' marks went with them, and their rows were still in the
// outbox. On PostgreSQL nothing is lost (one database); the same sequence checks exactly once.
TEST_P(AuditOutboxTest, MovesLostWithTheTrailsUnsyncedTailAreMadeAgainExactlyOnce) {
  TrailSyncSetting no_timed_sync("1h");
  const std::filesystem::path trail = std::filesystem::path(dir_.path()) / "audit.db";
  const std::filesystem::path wal = trail.string() + "-wal";
  const std::filesystem::path saved = std::filesystem::path(dir_.path()) / "synced";
  std::filesystem::create_directories(saved);
  std::vector<CallState> calls(20);
  {
    std::unique_ptr<AuditLog> audit = OpenAudit();
    ASSERT_NE(audit, nullptr);
    std::atomic<bool> powered{true};
    std::atomic<int> sync_points{0};
    audit->SetSyncHookForTesting([&] {
      if (!powered) return;
      ++sync_points;
      const auto overwrite = std::filesystem::copy_options::overwrite_existing;
      std::filesystem::copy_file(trail, saved / "audit.db", overwrite);
      std::filesystem::remove(saved / "audit.db-wal");
      if (std::filesystem::exists(wal)) std::filesystem::copy_file(wal, saved / "audit.db-wal");
    });
    std::unique_ptr<AuditOutbox> outbox = audit->AttachOutbox(*db_, "finance");
    ASSERT_NE(outbox, nullptr);
    auto committer = Start(outbox.get());
    ASSERT_NO_FATAL_FAILURE(RunJobs(*committer, 1, 5, calls));
    ASSERT_EQ(ListAll(*audit).size(), 5u);
    audit->Record(Direct("direct-1"));  // a sync point: jobs 1-5 and direct-1 are durable
    ASSERT_TRUE(audit->Flush());
    ASSERT_NO_FATAL_FAILURE(RunJobs(*committer, 6, 10, calls));
    ASSERT_EQ(ListAll(*audit).size(), 11u);  // jobs 6-10 moved, not synced (SQLite)
    ASSERT_NO_FATAL_FAILURE(RunJobs(*committer, 11, 11, calls));  // this group deletes rows
    powered = false;  // the power goes: what happens from here on is not durable
    if (GetParam() == Engine::kSqlite) {
      ASSERT_GE(sync_points.load(), 1);
    }
    committer.reset();
    outbox.reset();
  }
  if (GetParam() == Engine::kSqlite) {
    // The trail as the disk held it (the wal-index is memory: rebuilt from the WAL).
    const auto overwrite = std::filesystem::copy_options::overwrite_existing;
    std::filesystem::copy_file(saved / "audit.db", trail, overwrite);
    std::filesystem::remove(wal);
    if (std::filesystem::exists(saved / "audit.db-wal")) {
      std::filesystem::copy_file(saved / "audit.db-wal", wal);
    }
    std::filesystem::remove(trail.string() + "-shm");
  }
  std::unique_ptr<AuditLog> audit = OpenAudit();
  ASSERT_NE(audit, nullptr);
  std::unique_ptr<AuditOutbox> outbox = audit->AttachOutbox(*db_, "finance");
  ASSERT_NE(outbox, nullptr);
  const std::vector<common::v1::AuditEvent> events = ListAll(*audit);
  std::map<std::string, int> seen;
  for (const common::v1::AuditEvent& e : events) ++seen[e.request_id()];
  for (int64_t id = 1; id <= 11; ++id) {
    EXPECT_EQ(seen[absl::StrCat("job-", id)], 1) << "job-" << id;
  }
  EXPECT_EQ(seen["direct-1"], 1);
  EXPECT_EQ(events.size(), 12u);
  ExpectGapFree(events);
}

INSTANTIATE_TEST_SUITE_P(Engines, AuditOutboxTest,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const ::testing::TestParamInfo<Engine>& info) {
                           return std::string(EngineName(info.param));
                         });

}  // namespace
}  // namespace dorset::runtime::storage
