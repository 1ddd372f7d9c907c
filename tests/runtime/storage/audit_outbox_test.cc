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
#include "audit_outbox_fixture.h"
#include "engines.h"
#include "gtest/gtest.h"
#include "runtime/audit/audit_log.h"
#include "runtime/audit/outbox_packing.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/group_commit.h"
#include "runtime/storage/transact.h"
#include "runtime/testing/test_host.h"
#include "storage_commit_test_migrations.h"

namespace dorset::runtime::storage {
namespace {

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
  for (const std::string& id : OutboxRequestIds()) EXPECT_EQ(id, "job-1");
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
  auto count_in_outbox = [this](int64_t first, int64_t last) {
    int n = 0;
    for (const std::string& id : OutboxRequestIds()) {
      const int64_t job = std::stoll(id.substr(4));
      n += job >= first && job <= last ? 1 : 0;
    }
    return n;
  };
  // PostgreSQL: the move deleted them (one database, one transaction). SQLite: the trail's mark
  // is not durable yet, so the group deleted none of them.
  EXPECT_EQ(count_in_outbox(1, 10), GetParam() == Engine::kSqlite ? 10 : 0);

  audit->Record(Direct("direct-1"));  // its commit is a sync point of the trail
  ASSERT_TRUE(audit->Flush());
  ASSERT_NO_FATAL_FAILURE(RunJobs(*committer, 12, 12, calls));  // the next group deletes them
  EXPECT_EQ(count_in_outbox(1, 10), 0);
  EXPECT_EQ(count_in_outbox(11, 11), 0);
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
