#include "runtime/audit/audit_log.h"

#include "bench/echo/echo_module.h"
#include "dorset/common/v1/audit.grpc.pb.h"
#include "gtest/gtest.h"
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
  request.set_after_sequence(page->next_after_sequence());
  auto rest = (*audit)->List(request);
  EXPECT_EQ(rest->events_size(), 2);
  EXPECT_EQ(rest->next_after_sequence(), 0);

  common::v1::ListAuditEventsRequest bob;
  bob.set_principal("bob");
  EXPECT_EQ((*audit)->List(bob)->events_size(), 2);
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
