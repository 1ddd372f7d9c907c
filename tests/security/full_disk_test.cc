// Issue 10 item 13: a full disk. The real finance and engagement binaries run with every write
// to their files refused (RLIMIT_FSIZE lowered on the running process with prlimit, no
// privileges needed; the child ignores SIGXFSZ so writes fail with EFBIG as on a full disk).
// Writes must answer RESOURCE_EXHAUSTED or UNAVAILABLE (never INTERNAL, never OK without an
// audit record), /readyz and the service's gRPC health must say the store cannot be written,
// the metrics must show it, SIGTERM must complete, and after the limit is lifted the service
// becomes ready again and the events held back reach the trail.
#include <signal.h>
#include <sys/resource.h>

#include <functional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "dorset/common/v1/audit.grpc.pb.h"
#include "dorset/engagement/v1/engagement.grpc.pb.h"
#include "dorset/finance/v1/finance.grpc.pb.h"
#include "gtest/gtest.h"
#include "runtime/testing/temp_dir.h"
#include "tests/finance/finance_test_util.h"
#include "tests/security/server_child.h"

namespace dorset {
namespace {

using grpc::health::v1::HealthCheckResponse;
using WriteFn = std::function<grpc::Status(grpc::Channel&, const std::string& request_id)>;

std::shared_ptr<grpc::Channel> Unowned(grpc::Channel& channel) {
  return std::shared_ptr<grpc::Channel>(&channel, [](grpc::Channel*) {});
}

std::unique_ptr<grpc::ClientContext> Context(const std::string& request_id = "") {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  if (!request_id.empty()) context->AddMetadata("x-request-id", request_id);
  return context;
}

bool Eventually(const std::function<bool()>& condition, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (condition()) return true;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return condition();
}

struct Service {
  const char* binary;
  const char* health_name;
  std::function<void(grpc::Channel&)> prepare;
  WriteFn write;
};

void WritesFailCleanlyReadinessSaysSoAndShutdownCompletes(const Service& service) {
  testing::TempDir dir;
  testing::ServerChild server(service.binary, dir.path(), {"--shutdown_grace_seconds=5"});
  ASSERT_TRUE(server.WaitServing(service.health_name)) << server.Log();
  service.prepare(*server.Channel());
  {
    grpc::Status before = service.write(*server.Channel(), "before-full");
    ASSERT_TRUE(before.ok()) << before.error_message();
  }
  EXPECT_EQ(server.Ops("/readyz").first, 200);

  // The disk is now full: no file of the process may grow (or be written) at all.
  ASSERT_TRUE(server.LimitFileSize(0));
  std::vector<std::string> refused;
  for (int i = 0; i < 5; ++i) {
    const std::string request_id = absl::StrCat("full-", i);
    grpc::Status status = service.write(*server.Channel(), request_id);
    EXPECT_TRUE(status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED ||
                status.error_code() == grpc::StatusCode::UNAVAILABLE)
        << request_id << ": " << status.error_code() << " " << status.error_message();
    if (!status.ok()) refused.push_back(request_id);
  }

  // Readiness reports the condition, on both probes, and the metrics show it.
  std::pair<int, std::string> readyz;
  EXPECT_TRUE(Eventually(
      [&] {
        readyz = server.Ops("/readyz");
        return readyz.first == 503;
      },
      absl::Seconds(20)))
      << readyz.first << " " << readyz.second;
  EXPECT_TRUE(absl::StrContains(readyz.second, "not writable")) << readyz.second;
  EXPECT_TRUE(Eventually(
      [&] { return server.Health(service.health_name) == HealthCheckResponse::NOT_SERVING; },
      absl::Seconds(20)));
  const std::string metrics = server.Ops("/metrics").second;
  EXPECT_TRUE(absl::StrContains(metrics, "dorset_audit_writable 0")) << metrics;
  EXPECT_TRUE(absl::StrContains(metrics, "dorset_storage_writable 0"));
  EXPECT_FALSE(absl::StrContains(metrics, "dorset_storage_faults_total 0\n"));

  // The disk has room again: the held-back events reach the trail (retried in the background),
  // the next write succeeds and readiness returns.
  ASSERT_TRUE(server.LimitFileSize(RLIM_INFINITY));
  EXPECT_TRUE(Eventually(
      [&] { return absl::StrContains(server.Ops("/metrics").second, "dorset_audit_writable 1"); },
      absl::Seconds(60)));
  {
    grpc::Status after = service.write(*server.Channel(), "after-full");
    EXPECT_TRUE(after.ok()) << after.error_message();
  }
  EXPECT_TRUE(Eventually([&] { return server.Ops("/readyz").first == 200; }, absl::Seconds(60)))
      << server.Ops("/readyz").second;
  EXPECT_TRUE(
      Eventually([&] { return server.Health(service.health_name) == HealthCheckResponse::SERVING; },
                 absl::Seconds(20)));
  auto audit = common::v1::AuditService::NewStub(server.Channel());
  common::v1::ListAuditEventsRequest list;
  list.set_page_size(1000);
  common::v1::ListAuditEventsResponse events;
  ASSERT_TRUE(audit->ListAuditEvents(Context().get(), list, &events).ok());
  std::set<std::string> audited;
  for (const auto& e : events.events()) audited.insert(e.request_id());
  EXPECT_TRUE(audited.count("before-full"));
  EXPECT_TRUE(audited.count("after-full"));
  for (const std::string& id : refused) EXPECT_TRUE(audited.count(id)) << id;

  // Full again, with calls waiting on the trail: SIGTERM still completes.
  ASSERT_TRUE(server.LimitFileSize(0));
  (void)service.write(*server.Channel(), "while-stopping");
  server.Signal(SIGTERM);
  EXPECT_EQ(server.WaitExit(absl::Seconds(90)), 0) << server.Log();
}

TEST(FullDiskTest, FinanceRefusesWritesReportsNotReadyAndStops) {
  const std::string scheme = "plans/dorset-stp/programmes/managing-demand/schemes/rightcare";
  WritesFailCleanlyReadinessSaysSoAndShutdownCompletes(
      {DORSET_FINANCE_BINARY, "dorset.finance.v1.FinanceService", [](grpc::Channel&) {},
       [&](grpc::Channel& channel, const std::string& request_id) {
         auto stub = finance::v1::FinanceService::NewStub(Unowned(channel));
         finance::v1::CreatePostingRequest request;
         request.set_request_id(request_id);
         *request.mutable_posting() = finance::testing::MakePosting(
             scheme, "2019-20", 4, finance::v1::POSTING_KIND_ACTUAL, 1234);
         finance::v1::Posting response;
         return stub->CreatePosting(Context(request_id).get(), request, &response);
       }});
}

TEST(FullDiskTest, EngagementRefusesWritesReportsNotReadyAndStops) {
  namespace ev1 = engagement::v1;
  WritesFailCleanlyReadinessSaysSoAndShutdownCompletes(
      {DORSET_ENGAGEMENT_BINARY, "dorset.engagement.v1.EngagementService",
       [](grpc::Channel& channel) {
         auto stub = ev1::EngagementService::NewStub(Unowned(channel));
         ev1::CreateActivityRequest create;
         create.set_activity_id("full");
         create.mutable_activity()->set_kind(ev1::ACTIVITY_KIND_CONSULTATION);
         create.mutable_activity()->set_title("A full disk");
         create.mutable_activity()->set_purpose("testing");
         ev1::Activity activity;
         ASSERT_TRUE(stub->CreateActivity(Context().get(), create, &activity).ok());
         ev1::OpenActivityRequest open;
         open.set_name("activities/full");
         ASSERT_TRUE(stub->OpenActivity(Context().get(), open, &activity).ok());
       },
       [](grpc::Channel& channel, const std::string& request_id) {
         auto stub = ev1::EngagementService::NewStub(Unowned(channel));
         ev1::CreateResponseRequest request;
         request.set_parent("activities/full");
         request.set_request_id(request_id);
         request.mutable_response()->set_channel(ev1::CHANNEL_LETTER);
         request.mutable_response()->set_sentiment(ev1::SENTIMENT_OPPOSED);
         request.mutable_response()->set_locality("localities/south");
         request.mutable_response()->set_text("a view");
         ev1::Response response;
         return stub->CreateResponse(Context(request_id).get(), request, &response);
       }});
}

}  // namespace
}  // namespace dorset
