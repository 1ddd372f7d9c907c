// The audit trail on the shared PostgreSQL database (issue 13: many replicas): two services'
// AuditLogs (two replicas) opened with the same `database` write one trail; ListAuditEvents on
// either sees both replicas' events, in one sequence given out in commit order (a reader paging
// while both write never passes an event that shows up later below its position), and the table
// refuses UPDATE, DELETE and TRUNCATE. ctest label `postgres_only`; the SQLite trail is
// audit_log_test.
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "runtime/audit/audit_log.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/database_url.h"
#include "runtime/storage/open.h"
#include "runtime/testing/postgres_server.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_host.h"

namespace dorset::runtime {
namespace {

// The shared PostgreSQL harness; a skip locally without it, a failure under CI=true.
#define REQUIRE_POSTGRES(out)                                                          \
  auto out##_or = dorset::testing::PostgresServer::Shared();                           \
  if (!out##_or.ok()) {                                                                \
    const char* ci = std::getenv("CI");                                                \
    if (ci != nullptr && std::string(ci) == "true") FAIL() << out##_or.status();       \
    GTEST_SKIP() << "no PostgreSQL (" << out##_or.status() << "); CI=true would fail"; \
  }                                                                                    \
  auto& out = *out##_or

common::v1::AuditEvent Event(const std::string& principal, const std::string& request_id) {
  common::v1::AuditEvent e;
  e.set_principal(principal);
  e.set_method("/dorset.finance.v1.FinanceService/CreatePosting");
  e.set_resource("plans/dorset-stp");
  e.set_action("write");
  e.set_request_id(request_id);
  e.set_outcome("OK");
  return e;
}

ServerConfig ReplicaConfig(const std::string& data_dir, const std::string& database) {
  ServerConfig config = dorset::testing::TestServerConfig("finance", data_dir);
  config.database = database;
  return config;
}

// Every event after `after` (all pages), for `principal` ("" for everyone).
std::vector<common::v1::AuditEvent> ListAll(AuditLog& audit, const std::string& principal = "",
                                            int64_t after = 0) {
  std::vector<common::v1::AuditEvent> events;
  common::v1::ListAuditEventsRequest request;
  request.set_principal(principal);
  request.set_after_sequence(after);
  request.set_page_size(50);
  while (true) {
    absl::StatusOr<common::v1::ListAuditEventsResponse> page = audit.List(request);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) return events;
    events.insert(events.end(), page->events().begin(), page->events().end());
    if (page->next_page_token().empty()) return events;
    request.set_page_token(page->next_page_token());
  }
}

TEST(AuditSharedTest, TwoReplicasWriteOneTrailThatEitherListsInCommitOrder) {
  REQUIRE_POSTGRES(pg);
  absl::StatusOr<std::string> database = pg->CreateDatabase();
  ASSERT_TRUE(database.ok()) << database.status();
  dorset::testing::TempDir dir_a, dir_b;
  auto a = AuditLog::Open(ReplicaConfig(dir_a.path(), *database));
  auto b = AuditLog::Open(ReplicaConfig(dir_b.path(), *database));
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  // Nothing is kept in the data directory: the trail is the database's.
  EXPECT_FALSE(std::filesystem::exists(dir_a.File("audit.db")));

  // Both replicas record at once while a reader follows the trail page by page, as a client
  // of ListAuditEvents would: each poll asks for what comes after the last sequence it saw.
  constexpr int kPerReplica = 300;
  std::atomic<bool> writing{true};
  std::vector<int64_t> followed;
  std::thread follower([&] {
    int64_t last = 0;
    auto poll = [&] {
      for (const common::v1::AuditEvent& e : ListAll(**a, "", last)) {
        followed.push_back(e.sequence());
        last = e.sequence();
      }
    };
    while (writing.load()) poll();
    poll();
  });
  std::vector<std::thread> writers;
  for (auto [audit, name] : {std::pair{a->get(), "replica-a"}, std::pair{b->get(), "replica-b"}}) {
    writers.emplace_back([audit, name] {
      for (int i = 0; i < kPerReplica; ++i) {
        // Every few events wait for the commit, so the two replicas' groups interleave.
        if (i % 7 != 0) {
          audit->Record(Event(name, absl::StrCat(name, "-", i)));
          continue;
        }
        absl::Notification durable;
        absl::Status outcome;
        audit->Record(Event(name, absl::StrCat(name, "-", i)), [&](const absl::Status& s) {
          outcome = s;
          durable.Notify();
        });
        durable.WaitForNotification();
        EXPECT_TRUE(outcome.ok()) << outcome;
      }
      EXPECT_TRUE(audit->Flush());
    });
  }
  for (std::thread& t : writers) t.join();
  writing = false;
  follower.join();

  for (AuditLog* audit : {a->get(), b->get()}) {
    std::vector<common::v1::AuditEvent> all = ListAll(*audit);
    ASSERT_EQ(all.size(), 2u * kPerReplica);
    std::set<std::string> request_ids;
    int64_t previous = 0;
    for (const common::v1::AuditEvent& e : all) {
      EXPECT_GT(e.sequence(), previous);
      previous = e.sequence();
      request_ids.insert(e.request_id());
    }
    EXPECT_EQ(request_ids.size(), 2u * kPerReplica);
    EXPECT_TRUE(request_ids.count("replica-a-0") && request_ids.count("replica-b-0"));
    EXPECT_EQ(ListAll(*audit, "replica-b").size(), static_cast<size_t>(kPerReplica));
  }
  // The follower saw every event exactly once: no sequence below one it had passed appeared
  // afterwards (sequences are given out in commit order across the replicas).
  std::vector<common::v1::AuditEvent> all = ListAll(**b);
  ASSERT_EQ(followed.size(), all.size());
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(followed[i], all[i].sequence()) << i;
}

TEST(AuditSharedTest, ThePostgresTrailIsAppendOnly) {
  REQUIRE_POSTGRES(pg);
  absl::StatusOr<std::string> database = pg->CreateDatabase();
  ASSERT_TRUE(database.ok()) << database.status();
  dorset::testing::TempDir dir;
  {
    auto audit = AuditLog::Open(ReplicaConfig(dir.path(), *database));
    ASSERT_TRUE(audit.ok()) << audit.status();
    (*audit)->Record(Event("alice", "r1"));
    ASSERT_TRUE((*audit)->Flush());
  }
  absl::StatusOr<storage::DatabaseUrl> url = storage::ParseDatabaseUrl(*database, dir.path(), "x");
  ASSERT_TRUE(url.ok());
  auto db = storage::OpenDatabase(*url, {}, nullptr);
  ASSERT_TRUE(db.ok()) << db.status();
  for (const char* sql : {"UPDATE audit_event SET principal = 'mallory'", "DELETE FROM audit_event",
                          "TRUNCATE audit_event"}) {
    absl::Status status = (*db)->Write([&](storage::Transaction& tx) { return tx.Exec(sql); });
    EXPECT_FALSE(status.ok()) << sql;
    EXPECT_NE(status.ToString().find("append-only"), std::string::npos) << status;
  }
  // Reopened (a restarted replica), the trail keeps its event and its steps run once.
  auto again = AuditLog::Open(ReplicaConfig(dir.path(), *database));
  ASSERT_TRUE(again.ok()) << again.status();
  std::vector<common::v1::AuditEvent> events = ListAll(**again);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].principal(), "alice");
}

}  // namespace
}  // namespace dorset::runtime
