// The audit outbox tests' fixture (audit_outbox_test.cc on both engines,
// audit_outbox_packed_test.cc on SQLite files): a store with the test migrations' job table and
// outbox, the process's audit trail, a group committer whose groups write jobs and their events,
// and the helpers that read the outbox and the trail back.
#ifndef DORSET_TESTS_RUNTIME_STORAGE_AUDIT_OUTBOX_FIXTURE_H_
#define DORSET_TESTS_RUNTIME_STORAGE_AUDIT_OUTBOX_FIXTURE_H_

#include <atomic>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "engines.h"
#include "gtest/gtest.h"
#include "runtime/audit/audit_log.h"
#include "runtime/audit/audit_outbox.h"
#include "runtime/audit/outbox_packing.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/group_commit.h"
#include "runtime/storage/open.h"
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

inline common::v1::AuditEvent EventOf(int64_t id, const absl::Status& status) {
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
inline OutboxedAudit AuditFor(int64_t id, CallState& call) {
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
    ASSERT_NO_FATAL_FAILURE(OpenStore());
  }

  // Opens the store (again) as a service does: `database` ("" = <data_dir>/finance.db), data_dir,
  // service; with `migrations` (an older schema, for an upgrade).
  void OpenStore(MigrationsFor migrations = migrations::StorageCommitTestMigrations) {
    db_.reset();
    absl::StatusOr<DatabaseUrl> parsed = ParseDatabaseUrl(url_, dir_.path(), "finance");
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    absl::StatusOr<std::unique_ptr<Database>> db = OpenDatabase(*parsed, {}, migrations);
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

  // The request ids of the events the outbox holds, in id order: on SQLite a group's packed row
  // (outbox_packing.h) or a row of one event an older version wrote; on PostgreSQL rows of one.
  std::vector<std::string> OutboxRequestIds() {
    std::vector<std::string> ids;
    const bool packed = GetParam() == Engine::kSqlite;
    absl::Status read = db_->Read([&](Transaction& tx) -> absl::Status {
      ids.clear();
      ASSIGN_OR_RETURN(Statement select,
                       tx.Prepare(packed ? "SELECT request_id, events FROM audit_outbox ORDER BY id"
                                         : "SELECT request_id FROM audit_outbox ORDER BY id"));
      while (true) {
        ASSIGN_OR_RETURN(bool row, select.Step());
        if (!row) return absl::OkStatus();
        if (!packed || select.IsNull(1)) {
          ids.push_back(select.Text(0));
          continue;
        }
        const std::string bytes = select.Blob(1);
        std::vector<outbox_packing::EventView> events;
        RETURN_IF_ERROR(outbox_packing::Unpack(bytes, events));
        for (const outbox_packing::EventView& e : events) ids.emplace_back(e.request_id);
      }
    });
    EXPECT_TRUE(read.ok()) << read;
    return ids;
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

// DORSET_AUDIT_TRAIL_SYNC for one test: the trail's sync points then come only from what the
// test does (a recorded event's commit, shutdown), not from the clock.
class TrailSyncSetting {
 public:
  explicit TrailSyncSetting(const char* value) { setenv("DORSET_AUDIT_TRAIL_SYNC", value, 1); }
  ~TrailSyncSetting() { unsetenv("DORSET_AUDIT_TRAIL_SYNC"); }
};

// Submits jobs one by one, each answered before the next (each its own group).
inline void RunJobs(GroupCommitter<Job>& committer, int64_t first, int64_t last,
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

inline common::v1::AuditEvent Direct(const std::string& name) {
  common::v1::AuditEvent e;
  e.set_principal("tester");
  e.set_method("/dorset.test.v1.Test/Read");
  e.set_resource("jobs");
  e.set_action("READ");
  e.set_request_id(name);
  e.set_outcome("OK");
  return e;
}

}  // namespace
}  // namespace dorset::runtime::storage

#endif  // DORSET_TESTS_RUNTIME_STORAGE_AUDIT_OUTBOX_FIXTURE_H_
