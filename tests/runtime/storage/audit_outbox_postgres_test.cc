// The audit outbox on PostgreSQL (runtime/audit/audit_outbox.h, issue 16 session 24): a group's
// events go straight into the trail (audit_event) in the group's own transaction, under the
// trail's append queue, so an event is in the trail exactly when its group committed (no row in
// audit_outbox, nothing for the writer to move), and across two replicas' group committers and
// their trail writers the sequences are still handed out in commit order: a reader following the
// trail never sees a number appear below one it has passed. ctest label `postgres_only`; both
// engines' outbox is storage_audit_outbox_test.
#include <atomic>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "engines.h"
#include "gtest/gtest.h"
#include "runtime/audit/audit_log.h"
#include "runtime/audit/audit_outbox.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/group_commit.h"
#include "runtime/storage/transact.h"
#include "runtime/testing/test_host.h"
#include "storage_commit_test_migrations.h"

namespace dorset::runtime::storage {
namespace {

struct Job {
  int64_t id = 0;
  OutboxedAudit audit = {};
  std::function<void(const absl::Status&)> done = nullptr;
};

// The call's event as an outbox row; `marked` receives the status it was committed with.
OutboxedAudit AuditFor(int64_t id, std::atomic<int>& marked) {
  OutboxedAudit audit;
  auto request_id = std::make_shared<std::string>(absl::StrCat("job-", id));
  audit.row_for = [id, request_id](const absl::Status& status, const google::protobuf::Message*,
                                   OutboxRow& row) {
    row.time_us = 1700000000000000 + id;
    row.principal = "tester";
    row.method = "/dorset.test.v1.Test/Write";
    row.resource = absl::StrCat("jobs/", id);
    row.action = "WRITE";
    row.request_id = *request_id;
    row.outcome = "OK";
    return true;
  };
  audit.mark_committed = [&marked](absl::StatusCode code) { marked = static_cast<int>(code); };
  return audit;
}

// One replica: its store's pool, its trail (AuditLog, as ServiceHost opens it), its outbox and a
// group committer whose groups write job rows and then, last, their events. With `linger`, a
// group waits up to that long after its events were written and before its commit (while it
// holds the trail's queue), so that two replicas' commits would land out of order without it.
struct Replica {
  Replica(const std::string& url, const std::string& dir, absl::Duration linger) {
    absl::StatusOr<DatabaseUrl> parsed = ParseDatabaseUrl(url, dir, "finance");
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    if (!parsed.ok()) return;
    absl::StatusOr<std::unique_ptr<Database>> opened =
        OpenDatabase(*parsed, {}, migrations::StorageCommitTestMigrations);
    EXPECT_TRUE(opened.ok()) << opened.status();
    if (!opened.ok()) return;
    db = *std::move(opened);
    ServerConfig config = dorset::testing::TestServerConfig("finance", dir);
    config.database = url;
    absl::StatusOr<std::unique_ptr<AuditLog>> log = AuditLog::Open(config);
    EXPECT_TRUE(log.ok()) << log.status();
    if (!log.ok()) return;
    audit = *std::move(log);
    outbox = audit->AttachOutbox(*db, "finance");
    EXPECT_NE(outbox, nullptr);
    AuditOutbox* out = outbox.get();
    auto random = std::make_shared<std::mt19937>(absl::ToInt64Microseconds(linger));
    committer = std::make_unique<GroupCommitter<Job>>(
        *db, GroupCommitOptions{.max_group = 8, .finish_on_own_thread = true},
        [out, linger, random](Transaction& tx, std::span<Job> jobs,
                              std::vector<absl::Status>& results) -> absl::Status {
          ASSIGN_OR_RETURN(Statement insert,
                           tx.Prepare("INSERT INTO job (id, name) VALUES (?, ?)"));
          std::vector<OutboxRow> rows;
          for (size_t i = 0; i < jobs.size(); ++i) {
            insert.Reset();
            RETURN_IF_ERROR(insert.Bind(1, jobs[i].id).Bind(2, "job").Run());
            jobs[i].audit.Collect(results[i], nullptr, rows);
          }
          RETURN_IF_ERROR(out->Append(tx, rows));
          if (linger > absl::ZeroDuration()) {
            // The events take their numbers now (Send leaves them in the pipeline; a statement
            // that reads no table, so no serialization failure between the replicas), then the
            // commit waits.
            ASSIGN_OR_RETURN(Statement one, tx.Prepare("SELECT 1"));
            RETURN_IF_ERROR(one.Step().status());
            absl::SleepFor(linger * std::uniform_real_distribution<double>(0, 1)(*random));
          }
          return absl::OkStatus();
        },
        [](Job& job, const absl::Status& status) { job.done(status); },
        [out](std::span<Job> jobs) { out->GroupCommitted(jobs); });
  }
  ~Replica() {
    committer.reset();  // drains
    outbox.reset();
  }

  int64_t Count(const std::string& sql) {
    absl::StatusOr<int64_t> n = ReadReturning(*db, [&](Transaction& tx) -> absl::StatusOr<int64_t> {
      ASSIGN_OR_RETURN(Statement stmt, tx.Prepare(sql));
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      return row ? stmt.Int(0) : -1;
    });
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : -1;
  }

  std::unique_ptr<Database> db;
  std::unique_ptr<AuditLog> audit;
  std::unique_ptr<AuditOutbox> outbox;
  std::unique_ptr<GroupCommitter<Job>> committer;
};

// Every event after `after` (all pages), as a client of ListAuditEvents reads them.
std::vector<common::v1::AuditEvent> ListAfter(AuditLog& audit, int64_t after) {
  std::vector<common::v1::AuditEvent> events;
  common::v1::ListAuditEventsRequest request;
  request.set_after_sequence(after);
  request.set_page_size(500);
  while (true) {
    absl::StatusOr<common::v1::ListAuditEventsResponse> page = audit.List(request);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) return events;
    events.insert(events.end(), page->events().begin(), page->events().end());
    if (page->next_page_token().empty()) return events;
    request.set_page_token(page->next_page_token());
  }
}

common::v1::AuditEvent Direct(const std::string& request_id) {
  common::v1::AuditEvent e;
  e.set_principal("tester");
  e.set_method("/dorset.test.v1.Test/Read");
  e.set_resource("jobs");
  e.set_action("READ");
  e.set_request_id(request_id);
  e.set_outcome("OK");
  return e;
}

class AuditOutboxPostgresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DORSET_REQUIRE_POSTGRES(dorset::testing::PostgresServer::Shared(), pg);
    absl::StatusOr<std::string> database = pg->CreateDatabase();
    ASSERT_TRUE(database.ok()) << database.status();
    url_ = *database;
  }

  std::string url_;
  testing::TempDir dir_a_, dir_b_;
};

TEST_F(AuditOutboxPostgresTest, AGroupsEventsAreInTheTrailAtItsCommitWithNoMove) {
  Replica replica(url_, dir_a_.path(), absl::ZeroDuration());
  ASSERT_NE(replica.committer, nullptr);
  std::atomic<int> marked[6];
  for (int64_t id = 0; id < 6; ++id) {
    marked[id] = -1;
    absl::Notification done;
    replica.committer->Submit(Job{
        .id = id, .audit = AuditFor(id, marked[id]), .done = [&done](const absl::Status& status) {
          EXPECT_TRUE(status.ok()) << status;
          done.Notify();
        }});
    ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(60)));
    EXPECT_EQ(marked[id].load(), static_cast<int>(absl::StatusCode::kOk));
    // Read from the table at once, with no Flush: the commit that acknowledged the call put its
    // event in the trail, and nothing went through the outbox.
    EXPECT_EQ(replica.Count("SELECT COUNT(*) FROM audit_event"), id + 1);
    EXPECT_EQ(replica.Count(absl::StrCat("SELECT COUNT(*) FROM audit_event WHERE request_id = "
                                         "'job-",
                                         id, "' AND resource = 'jobs/", id, "'")),
              1);
    EXPECT_EQ(replica.Count("SELECT COUNT(*) FROM audit_outbox"), 0);
  }
  // Rows an earlier version left in the outbox are still moved, after the events before them.
  ASSERT_TRUE(
      replica.db
          ->Write([](Transaction& tx) {
            return tx.Exec(
                "INSERT INTO audit_outbox(time_us, principal, method, resource, action, "
                "request_id, outcome) VALUES (1, 'tester', 'm', 'r', 'WRITE', 'left', 'OK')");
          })
          .ok());
  ASSERT_TRUE(replica.audit->Flush());  // as ListAuditEvents does: moves the outbox first
  const std::vector<common::v1::AuditEvent> events = ListAfter(*replica.audit, 0);
  ASSERT_EQ(events.size(), 7u);
  for (size_t i = 0; i < events.size(); ++i) {
    if (i > 0) {
      EXPECT_EQ(events[i].sequence(), events[i - 1].sequence() + 1);
    }
    EXPECT_EQ(events[i].request_id(), i < 6 ? absl::StrCat("job-", i) : "left");
  }
  EXPECT_EQ(replica.Count("SELECT COUNT(*) FROM audit_outbox"), 0);
}

// Two replicas, each with its group committer and its trail writer, on one database: a follower
// paging through the trail while they write sees every event exactly once, in the final order.
TEST_F(AuditOutboxPostgresTest, TwoReplicasGroupsAndWritersAppendInCommitOrder) {
  Replica a(url_, dir_a_.path(), absl::Milliseconds(3));
  Replica b(url_, dir_b_.path(), absl::Milliseconds(2));
  ASSERT_NE(a.committer, nullptr);
  ASSERT_NE(b.committer, nullptr);
  std::atomic<bool> writing{true};
  std::vector<int64_t> followed;
  std::thread follower([&] {
    int64_t last = 0;
    auto poll = [&] {
      for (const common::v1::AuditEvent& e : ListAfter(*a.audit, last)) {
        followed.push_back(e.sequence());
        last = e.sequence();
      }
    };
    while (writing.load()) poll();
    poll();
  });
  constexpr int kJobs = 150;  // a replica, and a direct event every tenth
  std::vector<std::atomic<int>> marked(2 * kJobs);
  std::atomic<int> pending{2 * kJobs};
  absl::Notification all_done;
  std::vector<std::thread> writers;
  for (int r = 0; r < 2; ++r) {
    writers.emplace_back([&, r] {
      Replica& replica = r == 0 ? a : b;
      for (int i = 0; i < kJobs; ++i) {
        const int64_t id = r * kJobs + i;
        marked[id] = -1;
        replica.committer->Submit(Job{
            .id = id, .audit = AuditFor(id, marked[id]), .done = [&](const absl::Status& status) {
              EXPECT_TRUE(status.ok()) << status;
              if (pending.fetch_sub(1) == 1) all_done.Notify();
            }});
        if (i % 10 == 0) replica.audit->Record(Direct(absl::StrCat("direct-", id)));
        if (i % 4 == 0) absl::SleepFor(absl::Milliseconds(1));
      }
    });
  }
  for (std::thread& t : writers) t.join();
  ASSERT_TRUE(all_done.WaitForNotificationWithTimeout(absl::Seconds(120)));
  EXPECT_TRUE(a.audit->Flush());
  EXPECT_TRUE(b.audit->Flush());
  writing = false;
  follower.join();

  const std::vector<common::v1::AuditEvent> all = ListAfter(*b.audit, 0);
  ASSERT_EQ(all.size(), static_cast<size_t>(2 * kJobs + 2 * kJobs / 10));
  std::set<std::string> request_ids;
  for (size_t i = 0; i < all.size(); ++i) {
    if (i > 0) {
      EXPECT_EQ(all[i].sequence(), all[i - 1].sequence() + 1) << "after #" << i - 1;
    }
    request_ids.insert(all[i].request_id());
  }
  EXPECT_EQ(request_ids.size(), all.size());
  // No sequence showed up below one the follower had already passed.
  ASSERT_EQ(followed.size(), all.size());
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(followed[i], all[i].sequence()) << i;
  EXPECT_EQ(a.Count("SELECT COUNT(*) FROM audit_outbox"), 0);
}

}  // namespace
}  // namespace dorset::runtime::storage
