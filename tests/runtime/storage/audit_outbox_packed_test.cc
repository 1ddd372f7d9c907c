// The audit outbox's packed rows on SQLite (runtime/audit/outbox_packing.h, issue 16, session
// 25), on SQLite files by nature (unlabelled, once): a group's events are ONE outbox row, moved
// into the trail in order and exactly once; rows an older version left (one event each, written
// before the store's upgrade added the packed columns) are moved with the new rows in id order;
// the packed form gives back every field and refuses damaged bytes.
#include <filesystem>
#include <iterator>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "audit_outbox_fixture.h"
#include "gtest/gtest.h"
#include "runtime/audit/outbox_packing.h"

namespace dorset::runtime::storage {
namespace {

using outbox_packing::EventView;

class AuditOutboxPackedTest : public AuditOutboxTest {
 protected:
  std::vector<std::string> TrailRequestIds(AuditLog& audit) {
    std::vector<std::string> ids;
    for (const common::v1::AuditEvent& e : ListAll(audit)) ids.push_back(e.request_id());
    return ids;
  }
};

std::vector<std::string> Jobs(int64_t first, int64_t last) {
  std::vector<std::string> ids;
  for (int64_t id = first; id <= last; ++id) ids.push_back(absl::StrCat("job-", id));
  return ids;
}

TEST_P(AuditOutboxPackedTest, AGroupsEventsAreOneRowMovedIntoTheTrailInOrderOnce) {
  TrailSyncSetting no_timed_sync("1h");  // no sync point: moved rows stay in the outbox
  {
    std::unique_ptr<AuditLog> audit = OpenAudit();
    ASSERT_NE(audit, nullptr);
    std::unique_ptr<AuditOutbox> outbox = audit->AttachOutbox(*db_, "finance");
    ASSERT_NE(outbox, nullptr);
    absl::Notification hold, holding;
    auto committer = Start(outbox.get(), &hold, &holding);
    constexpr int64_t kJobs = 9;
    std::vector<CallState> calls(kJobs + 1);
    std::atomic<int> pending{kJobs};
    absl::Notification all_done;
    auto submit = [&](int64_t id) {
      committer->Submit(Job{.id = id,
                            .refuse = id == 5,
                            .audit = AuditFor(id, calls[id]),
                            .done = [&](const absl::Status&) {
                              if (pending.fetch_sub(1) == 1) all_done.Notify();
                            }});
    };
    submit(1);
    ASSERT_TRUE(holding.WaitForNotificationWithTimeout(absl::Seconds(60)));  // job 1 alone
    for (int64_t id = 2; id <= kJobs; ++id) submit(id);  // the next group: jobs 2 to 9
    hold.Notify();
    ASSERT_TRUE(all_done.WaitForNotificationWithTimeout(absl::Seconds(60)));
    committer.reset();
    for (int64_t id = 1; id <= kJobs; ++id) {
      EXPECT_EQ(
          calls[id].marked.load(),
          static_cast<int>(id == 5 ? absl::StatusCode::kFailedPrecondition : absl::StatusCode::kOk))
          << id;
    }

    // Two groups, two rows: the second holds its eight events.
    EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_outbox"), 2);
    EXPECT_EQ(Count("SELECT MAX(event_count) FROM audit_outbox"), 8);
    EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_outbox WHERE events IS NULL"), 0);
    EXPECT_EQ(OutboxRequestIds(), Jobs(1, kJobs));

    const std::vector<common::v1::AuditEvent> events = ListAll(*audit);
    ExpectGapFree(events);
    std::vector<std::string> ids;
    for (const common::v1::AuditEvent& e : events) {
      ids.push_back(e.request_id());
      const int64_t id = std::stoll(e.request_id().substr(4));
      const common::v1::AuditEvent want =
          EventOf(id, id == 5 ? absl::FailedPreconditionError("refused") : absl::OkStatus());
      EXPECT_EQ(e.principal(), want.principal()) << id;
      EXPECT_EQ(e.method(), want.method()) << id;
      EXPECT_EQ(e.resource(), want.resource()) << id;
      EXPECT_EQ(e.action(), want.action()) << id;
      EXPECT_EQ(e.outcome(), want.outcome()) << id;
      EXPECT_EQ(e.time().seconds(), want.time().seconds()) << id;
    }
    EXPECT_EQ(ids, Jobs(1, kJobs));
  }
  // Restarted with the rows still in the store: the trail's mark skips them.
  std::unique_ptr<AuditLog> audit = OpenAudit();
  ASSERT_NE(audit, nullptr);
  std::unique_ptr<AuditOutbox> outbox = audit->AttachOutbox(*db_, "finance");
  ASSERT_NE(outbox, nullptr);
  EXPECT_EQ(TrailRequestIds(*audit), Jobs(1, 9));
}

// The test migrations before the packed columns (step 4): an older version's schema.
std::span<const Migration> BeforePacking(Engine engine) {
  return migrations::StorageCommitTestMigrations(engine).first(3);
}

TEST_P(AuditOutboxPackedTest, RowsAnOlderVersionLeftAreMovedWithTheNewRowsInIdOrderOnce) {
  // The store as an older version made it, with three events its kill -9 left in the outbox.
  db_.reset();
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::filesystem::remove(dir_.path() + "/finance.db" + suffix);
  }
  ASSERT_NO_FATAL_FAILURE(OpenStore(BeforePacking));
  LeaveInOutbox({1, 2, 3});
  {
    // This version cannot write packed rows there: its outbox is refused (calls record as
    // before), rather than groups failing.
    std::unique_ptr<AuditLog> audit = OpenAudit();
    ASSERT_NE(audit, nullptr);
    EXPECT_EQ(audit->AttachOutbox(*db_, "finance"), nullptr);
  }

  // The upgrade: the step adds the columns; the old rows are events NULL, one event each.
  ASSERT_NO_FATAL_FAILURE(OpenStore());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_outbox WHERE events IS NULL AND event_count = 1"), 3);
  // A group this version committed before a kill -9 (as Append writes it), after the old rows.
  const std::string resources[] = {"jobs/4", "jobs/5"};
  const OutboxRow group[] = {
      {1700000004000000, "tester", "m", resources[0], "WRITE", "job-4", "OK"},
      {1700000005000000, "tester", "m", resources[1], "WRITE", "job-5", "OK"}};
  std::string packed;
  outbox_packing::Pack(group, packed);
  ASSERT_TRUE(db_->Write([&](Transaction& tx) -> absl::Status {
                   ASSIGN_OR_RETURN(Statement insert,
                                    tx.Prepare("INSERT INTO audit_outbox(time_us, principal, "
                                               "method, resource, action, request_id, outcome, "
                                               "events, event_count) VALUES (?, '', '', '', '', "
                                               "'', '', ?, 2)"));
                   return insert.Bind(1, group[0].time_us).BindBlob(2, packed).Run();
                 })
                  .ok());
  EXPECT_EQ(OutboxRequestIds(), Jobs(1, 5));
  {
    // The first start after the upgrade moves both forms in one read, in id order; its groups
    // write packed rows after them.
    std::unique_ptr<AuditLog> audit = OpenAudit();
    ASSERT_NE(audit, nullptr);
    std::unique_ptr<AuditOutbox> outbox = audit->AttachOutbox(*db_, "finance");
    ASSERT_NE(outbox, nullptr);
    const std::vector<common::v1::AuditEvent> events = ListAll(*audit);
    ASSERT_EQ(events.size(), 5u);
    ExpectGapFree(events);
    // LeaveInOutbox's time (1 us) and columns, carried over.
    EXPECT_EQ(events[0].time().seconds() * 1000000 + events[0].time().nanos() / 1000, 1);
    EXPECT_EQ(events[0].principal(), "tester");
    EXPECT_EQ(events[0].resource(), "r");
    EXPECT_EQ(events[4].resource(), "jobs/5");
    EXPECT_EQ(events[4].time().seconds(), 1700000005);
    auto committer = Start(outbox.get());
    std::vector<CallState> calls(8);
    ASSERT_NO_FATAL_FAILURE(RunJobs(*committer, 6, 7, calls));
    committer.reset();
    EXPECT_EQ(TrailRequestIds(*audit), Jobs(1, 7));
  }
  // And again: nothing is moved twice.
  std::unique_ptr<AuditLog> audit = OpenAudit();
  ASSERT_NE(audit, nullptr);
  std::unique_ptr<AuditOutbox> outbox = audit->AttachOutbox(*db_, "finance");
  ASSERT_NE(outbox, nullptr);
  EXPECT_EQ(TrailRequestIds(*audit), Jobs(1, 7));
}

INSTANTIATE_TEST_SUITE_P(SqliteFile, AuditOutboxPackedTest, ::testing::Values(Engine::kSqlite),
                         [](const ::testing::TestParamInfo<Engine>&) {
                           return std::string("file");
                         });

void ExpectSame(const EventView& got, const OutboxRow& want) {
  EXPECT_EQ(got.time_us, want.time_us);
  EXPECT_EQ(got.principal, want.principal);
  EXPECT_EQ(got.method, want.method);
  EXPECT_EQ(got.resource, want.resource);
  EXPECT_EQ(got.action, want.action);
  EXPECT_EQ(got.request_id, want.request_id);
  EXPECT_EQ(got.outcome, want.outcome);
}

TEST(OutboxPacking, EveryFieldComesBackAndDamagedBytesAreRefused) {
  const std::string long_text(300, 'r');  // a two-byte length
  const OutboxRow rows[] = {
      {1700000000000000, "alice", "/m/Create", "jobs/1", "WRITE", "r-1", "OK"},
      {1699999999999999, "alice", "/m/Create", long_text, "WRITE", "r-2", "OK"},  // earlier
      {0, "", "", "", "", "", ""},
      {std::numeric_limits<int64_t>::min(), "bob", "/m/Create", "jobs/1", "W", "r-1", "ABORTED"},
      {std::numeric_limits<int64_t>::max(), "bob", "/m/Create", "jobs/1", "W", "r-1", "ABORTED"},
  };
  std::string packed;
  outbox_packing::Pack(rows, packed);
  std::vector<EventView> events = {EventView{}};  // added to what is there
  ASSERT_TRUE(outbox_packing::Unpack(packed, events).ok());
  ASSERT_EQ(events.size(), 6u);
  for (size_t i = 0; i < std::size(rows); ++i) {
    SCOPED_TRACE(i);
    ExpectSame(events[i + 1], rows[i]);
  }
  // A field the previous event had is not written again: the last event costs its flags and time.
  std::string four;
  outbox_packing::Pack(std::span<const OutboxRow>(rows, 4), four);
  EXPECT_LE(packed.size(), four.size() + 1 + 10);

  const auto refused = [](std::string_view bytes) {
    std::vector<EventView> out;
    return outbox_packing::Unpack(bytes, out).code() == absl::StatusCode::kDataLoss;
  };
  for (size_t n = 0; n < packed.size(); ++n) EXPECT_TRUE(refused(packed.substr(0, n))) << n;
  EXPECT_TRUE(refused(packed + '\0'));
  std::string other_form = packed;
  other_form[0] = 2;
  EXPECT_TRUE(refused(other_form));
  EXPECT_TRUE(refused(std::string("\x01\x01\x40\x00", 4)));   // a flag past the six fields
  EXPECT_FALSE(refused(std::string("\x01\x01\x3f\x00", 4)));  // one event, all fields as before
}

}  // namespace
}  // namespace dorset::runtime::storage
