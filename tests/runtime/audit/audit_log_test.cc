#include "runtime/audit/audit_log.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "bench/echo/echo_module.h"
#include "dorset/common/v1/audit.grpc.pb.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"
#include "runtime/base/completion_batch.h"
#include "runtime/server/service_host.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_host.h"

namespace dorset::runtime {
namespace {

common::v1::AuditEvent Event(const std::string& principal, const std::string& action) {
  common::v1::AuditEvent e;
  e.set_principal(principal);
  e.set_method("/dorset.registry.v1.RegistryService/UpdatePractice");
  e.set_resource("practices/J81016");
  e.set_action(action);
  e.set_request_id("r1");
  e.set_outcome("OK");
  return e;
}

TEST(AuditLogTest, RecordsListsInOrderAndFiltersByPrincipal) {
  dorset::testing::TempDir dir;
  auto audit = AuditLog::Open(dir.path());
  ASSERT_TRUE(audit.ok()) << audit.status();
  for (int i = 0; i < 5; ++i) (*audit)->Record(Event(i % 2 ? "bob" : "alice", "WRITE"));
  (*audit)->Flush();
  common::v1::ListAuditEventsRequest request;
  request.set_page_size(3);
  auto page = (*audit)->List(request);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->events_size(), 3);
  EXPECT_LT(page->events(0).sequence(), page->events(1).sequence());
  EXPECT_EQ(page->events(0).resource(), "practices/J81016");
  EXPECT_GT(page->events(0).time().seconds(), 0);
  request.set_page_token(page->next_page_token());
  auto rest = (*audit)->List(request);
  EXPECT_EQ(rest->events_size(), 2);
  EXPECT_TRUE(rest->next_page_token().empty());

  // The deprecated after_sequence way still reads on (callers built before page_token).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  common::v1::ListAuditEventsRequest old_way;
  old_way.set_page_size(3);
  old_way.set_after_sequence((*audit)->List(old_way)->next_after_sequence());
  auto old_rest = (*audit)->List(old_way);
  EXPECT_EQ(old_rest->events_size(), 2);
  EXPECT_EQ(old_rest->next_after_sequence(), 0);
#pragma GCC diagnostic pop

  common::v1::ListAuditEventsRequest bob;
  bob.set_principal("bob");
  EXPECT_EQ((*audit)->List(bob)->events_size(), 2);
}

// Issue 14: ListAuditEvents pages with page_token like every other List (keyset on the
// sequence): every event once, in order, across pages; events recorded while paging appear on a
// later page; a token is bound to its filters and cannot be forged.
TEST(AuditLogTest, PagesWithPageTokenBoundToItsFilters) {
  dorset::testing::TempDir dir;
  auto audit = AuditLog::Open(dir.path());
  ASSERT_TRUE(audit.ok()) << audit.status();
  for (int i = 0; i < 7; ++i) (*audit)->Record(Event(i % 2 ? "bob" : "alice", "WRITE"));
  (*audit)->Flush();

  common::v1::ListAuditEventsRequest request;
  request.set_page_size(3);
  std::vector<int64_t> seen;
  int pages = 0;
  while (true) {
    auto page = (*audit)->List(request);
    ASSERT_TRUE(page.ok()) << page.status();
    ++pages;
    for (const auto& e : page->events()) seen.push_back(e.sequence());
    if (pages == 1) {
      // Recorded after the first page: the following pages still reach it.
      (*audit)->Record(Event("carol", "DENIED"));
      (*audit)->Flush();
    }
    if (page->next_page_token().empty()) break;
    request.set_page_token(page->next_page_token());
    ASSERT_LT(pages, 10);
  }
  ASSERT_EQ(seen.size(), 8u);
  for (size_t i = 1; i < seen.size(); ++i) EXPECT_LT(seen[i - 1], seen[i]);
  EXPECT_EQ(pages, 3);

  // A page exactly as large as what is left says there is no next one (the extra row decides).
  common::v1::ListAuditEventsRequest exact;
  exact.set_page_size(8);
  auto all = (*audit)->List(exact);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->events_size(), 8);
  EXPECT_TRUE(all->next_page_token().empty());

  // Bob's events only, two a page; the token does not carry over to another principal.
  common::v1::ListAuditEventsRequest bob;
  bob.set_principal("bob");
  bob.set_page_size(2);
  auto first = (*audit)->List(bob);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->events_size(), 2);
  ASSERT_FALSE(first->next_page_token().empty());
  bob.set_page_token(first->next_page_token());
  auto second = (*audit)->List(bob);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->events_size(), 1);
  EXPECT_EQ(second->events(0).principal(), "bob");
  EXPECT_TRUE(second->next_page_token().empty());

  common::v1::ListAuditEventsRequest other = bob;
  other.set_principal("alice");
  auto refused = (*audit)->List(other);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("page_token"), std::string::npos) << refused.status();
  common::v1::ListAuditEventsRequest forged = bob;
  forged.set_page_token("MTIz");
  EXPECT_EQ((*audit)->List(forged).status().code(), absl::StatusCode::kInvalidArgument);
  common::v1::ListAuditEventsRequest negative;
  negative.set_page_size(-1);
  EXPECT_EQ((*audit)->List(negative).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(AuditLogTest, TheTrailIsAppendOnlyAndSurvivesReopen) {
  dorset::testing::TempDir dir;
  {
    auto audit = AuditLog::Open(dir.path());
    (*audit)->Record(Event("alice", "WRITE"));
  }  // destruction writes what is queued
  auto db = sqlite::Database::Open(dir.File("audit.db"));
  ASSERT_TRUE(db.ok());
  EXPECT_FALSE((*db)->Exec("UPDATE audit_event SET principal = 'mallory'").ok());
  EXPECT_FALSE((*db)->Exec("DELETE FROM audit_event").ok());
  auto audit = AuditLog::Open(dir.path());
  auto all = (*audit)->List({});
  ASSERT_EQ(all->events_size(), 1);
  EXPECT_EQ(all->events(0).principal(), "alice");
}

// Issue 10 item 17: a durable callback runs only once its event is committed.
TEST(AuditLogTest, TheCallbackRunsAfterTheEventIsCommitted) {
  dorset::testing::TempDir dir;
  auto audit = AuditLog::Open(dir.path());
  ASSERT_TRUE(audit.ok()) << audit.status();
  absl::Notification done;
  absl::Status written = absl::UnknownError("not called");
  int64_t rows_when_called = -1;
  (*audit)->Record(Event("alice", "WRITE"), [&](const absl::Status& s) {
    written = s;
    // Another connection (as after a crash) already sees the event.
    auto db = sqlite::Database::Open(dir.File("audit.db"));
    auto count = (*db)->Prepare("SELECT COUNT(*) FROM audit_event");
    if (count.ok() && *count->Step()) rows_when_called = count->Int(0);
    done.Notify();
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_TRUE(written.ok()) << written;
  EXPECT_EQ(rows_when_called, 1);
}

// The deferred path is off unless DORSET_AUDIT_DEFER=on (audit_log.cc): the tests of that path
// turn it on for the log they open.
class DeferredAuditWrites {
 public:
  DeferredAuditWrites() { setenv("DORSET_AUDIT_DEFER", "on", 1); }
  ~DeferredAuditWrites() { unsetenv("DORSET_AUDIT_DEFER"); }
  DeferredAuditWrites(const DeferredAuditWrites&) = delete;
  DeferredAuditWrites& operator=(const DeferredAuditWrites&) = delete;
};

// Issue 16: events recorded while a CompletionBatch is open (a group committer completing a
// group) are written by that thread when the batch closes, all in one group, and their calls
// are released there; the writer thread leaves them alone meanwhile.
TEST(AuditLogTest, ACompletionBatchWritesItsEventsOnItsOwnThreadWhenItCloses) {
  DeferredAuditWrites deferred;
  dorset::testing::TempDir dir;
  auto audit = AuditLog::Open(dir.path());
  ASSERT_TRUE(audit.ok()) << audit.status();
  constexpr int kEvents = 5;
  std::vector<std::thread::id> released_on;
  std::vector<int64_t> rows_when_released;
  {
    CompletionBatch batch;
    for (int i = 0; i < kEvents; ++i) {
      (*audit)->Record(Event("alice", "WRITE"), [&](const absl::Status& s) {
        EXPECT_TRUE(s.ok()) << s;
        released_on.push_back(std::this_thread::get_id());
        auto db = sqlite::Database::Open(dir.File("audit.db"));
        auto count = (*db)->Prepare("SELECT COUNT(*) FROM audit_event");
        rows_when_released.push_back(count.ok() && *count->Step() ? count->Int(0) : -1);
      });
    }
    // Left to the batch: nothing is written (or released) before it closes.
    EXPECT_TRUE(released_on.empty());
  }
  ASSERT_EQ(released_on.size(), kEvents);
  for (int i = 0; i < kEvents; ++i) {
    EXPECT_EQ(released_on[i], std::this_thread::get_id());
    EXPECT_EQ(rows_when_released[i], kEvents);  // one group, committed before any release
  }
  // Events recorded outside a batch still go through the writer thread.
  absl::Notification done;
  std::thread::id writer;
  (*audit)->Record(Event("bob", "WRITE"), [&](const absl::Status&) {
    writer = std::this_thread::get_id();
    done.Notify();
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_NE(writer, std::this_thread::get_id());
  auto page = (*audit)->List({});
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->events_size(), kEvents + 1);
  for (int i = 1; i <= kEvents; ++i) {
    EXPECT_LT(page->events(i - 1).sequence(), page->events(i).sequence());
  }
  EXPECT_EQ(page->events(kEvents).principal(), "bob");
}

// Every write of this process past `bytes` fails (EFBIG) while it lives: a full disk without
// privileges. The soft limit goes back up afterwards (the hard limit is untouched).
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &saved_);
    struct rlimit limit = {bytes, saved_.rlim_max};
    EXPECT_EQ(setrlimit(RLIMIT_FSIZE, &limit), 0);
  }
  ~FileSizeLimit() { setrlimit(RLIMIT_FSIZE, &saved_); }

 private:
  struct rlimit saved_;
};

// Issue 10 item 13: with audit.db unwritable, calls are answered (not held forever), the
// condition is reported, the events are written once there is room, and shutdown completes.
TEST(AuditLogTest, AnUnwritableTrailAnswersCallsReportsRecoversAndStops) {
  DeferredAuditWrites deferred;  // its last part writes from a completing thread
  dorset::testing::TempDir dir;
  prometheus::Registry metrics;
  auto audit = AuditLog::Open(dir.path(), &metrics);
  ASSERT_TRUE(audit.ok()) << audit.status();
  (*audit)->Record(Event("alice", "WRITE"));
  ASSERT_TRUE((*audit)->Flush());
  {
    FileSizeLimit full(0);
    absl::Notification answered;
    absl::Status written;
    (*audit)->Record(Event("bob", "WRITE"), [&](const absl::Status& s) {
      written = s;
      answered.Notify();
    });
    ASSERT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(60)));
    EXPECT_TRUE(written.code() == absl::StatusCode::kUnavailable ||
                written.code() == absl::StatusCode::kResourceExhausted)
        << written;
    EXPECT_FALSE((*audit)->Health().ok());
    EXPECT_FALSE((*audit)->Flush());  // bounded: returns although bob's event still waits
    const std::string text = prometheus::TextSerializer().Serialize(metrics.Collect());
    EXPECT_NE(text.find("dorset_audit_writable 0"), std::string::npos) << text;
    EXPECT_NE(text.find("dorset_audit_queued_events 1"), std::string::npos) << text;
  }
  // Room again: the held event is written by the background retry.
  for (int i = 0; i < 600 && !(*audit)->Health().ok(); ++i) absl::SleepFor(absl::Milliseconds(50));
  EXPECT_TRUE((*audit)->Health().ok());
  ASSERT_TRUE((*audit)->Flush());
  common::v1::ListAuditEventsRequest bob;
  bob.set_principal("bob");
  EXPECT_EQ((*audit)->List(bob)->events_size(), 1);

  // Full while a completing thread writes its batch's events itself: they go back to the
  // queue, the call is answered with the error by the writer thread's retries, and the event
  // is written once there is room.
  {
    absl::Notification answered;
    absl::Status written;
    {
      FileSizeLimit full(0);
      {
        CompletionBatch batch;
        (*audit)->Record(Event("dave", "WRITE"), [&](const absl::Status& s) {
          written = s;
          answered.Notify();
        });
      }
      ASSERT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(60)));
      EXPECT_TRUE(written.code() == absl::StatusCode::kUnavailable ||
                  written.code() == absl::StatusCode::kResourceExhausted)
          << written;
      EXPECT_FALSE((*audit)->Health().ok());
    }
    for (int i = 0; i < 600 && !(*audit)->Health().ok(); ++i) {
      absl::SleepFor(absl::Milliseconds(50));
    }
    ASSERT_TRUE((*audit)->Flush());
    common::v1::ListAuditEventsRequest dave;
    dave.set_principal("dave");
    EXPECT_EQ((*audit)->List(dave)->events_size(), 1);
  }

  // Full again at shutdown: the destructor gives up instead of retrying forever.
  FileSizeLimit full(0);
  (*audit)->Record(Event("carol", "WRITE"));
  audit->reset();
}

TEST(AuditServiceTest, RefusedCallsAreAuditedAndAdminsCanReadThem) {
  dorset::testing::TempDir dir;
  dorset::testing::WriteTokensFile(dir.File("tokens"),
                                   {{"reader", "rita", "reader"}, {"admin", "ada", "admin"}});
  ServerConfig config = dorset::testing::TestServerConfig("echo", dir.path());
  config.auth = AuthMode::kTokens;
  config.tokens_file = dir.File("tokens");
  auto host = ServiceHost::Start(config, std::make_unique<bench::EchoModule>());
  ASSERT_TRUE(host.ok()) << host.status();
  auto stub =
      common::v1::AuditService::NewStub(dorset::testing::LocalChannel((*host)->grpc_port()));

  common::v1::ListAuditEventsRequest request;
  common::v1::ListAuditEventsResponse response;
  {
    grpc::ClientContext context;
    EXPECT_EQ(stub->ListAuditEvents(&context, request, &response).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    grpc::ClientContext context;
    dorset::testing::AddBearer(context, "reader");
    context.AddMetadata("x-request-id", "denied-1");
    EXPECT_EQ(stub->ListAuditEvents(&context, request, &response).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  // The refusals are recorded when their calls end, a moment after the client sees them, and
  // not necessarily in the order the calls ended: poll until both are there.
  bool found = false;
  int unauthenticated = 0;
  for (int attempt = 0; attempt < 100 && !(found && unauthenticated == 1); ++attempt) {
    grpc::ClientContext context;
    dorset::testing::AddBearer(context, "admin");
    ASSERT_TRUE(stub->ListAuditEvents(&context, request, &response).ok());
    found = false;
    unauthenticated = 0;
    for (const auto& e : response.events()) {
      unauthenticated += e.outcome() == "UNAUTHENTICATED";
      if (e.request_id() == "denied-1") {
        found = true;
        EXPECT_EQ(e.principal(), "rita");
        EXPECT_EQ(e.action(), "DENIED");
        EXPECT_EQ(e.outcome(), "PERMISSION_DENIED");
        EXPECT_EQ(e.method(), "/dorset.common.v1.AuditService/ListAuditEvents");
      }
    }
    if (!(found && unauthenticated == 1)) absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(unauthenticated, 1);
}

}  // namespace
}  // namespace dorset::runtime
