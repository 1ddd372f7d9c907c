// Issue 10 item 17: an acknowledged write must have its audit record, even when the process is
// killed. The real finance and engagement binaries are killed with SIGKILL while twelve clients
// write, four times each, then restarted on the same data directory; every write a client saw
// acknowledged (by its request id, sent as x-request-id) must be in the audit trail as a WRITE
// with outcome OK. Before the fix events were queued after the reply and written a moment
// later, and a kill in between lost them.
#include <signal.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

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

constexpr int kCycles = 4;
constexpr int kClients = 12;
constexpr int kAcknowledgedPerCycle = 250;

// One write of the service under test: returns the call's status.
using WriteFn = std::function<grpc::Status(grpc::Channel&, const std::string& request_id, int n)>;

std::unique_ptr<grpc::ClientContext> Context(const std::string& request_id) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  if (!request_id.empty()) context->AddMetadata("x-request-id", request_id);
  return context;
}

// Every request id the audit trail holds as an acknowledged (OK) write.
std::set<std::string> AuditedWrites(grpc::Channel& channel) {
  auto stub = common::v1::AuditService::NewStub(
      std::shared_ptr<grpc::Channel>(&channel, [](grpc::Channel*) {}));
  std::set<std::string> ids;
  common::v1::ListAuditEventsRequest request;
  request.set_page_size(1000);
  while (true) {
    common::v1::ListAuditEventsResponse page;
    grpc::Status status = stub->ListAuditEvents(Context("").get(), request, &page);
    EXPECT_TRUE(status.ok()) << status.error_message();
    if (!status.ok()) break;
    for (const auto& e : page.events()) {
      if (e.action() == "WRITE" && e.outcome() == "OK") ids.insert(e.request_id());
    }
    if (page.next_page_token().empty()) break;
    request.set_page_token(page.next_page_token());
  }
  return ids;
}

// Runs the kill cycles against `binary` and checks the trail afterwards.
void KillUnderLoadAndCheckTheTrail(const std::string& binary, const std::string& health_name,
                                   const std::function<void(grpc::Channel&)>& prepare,
                                   const WriteFn& write) {
  testing::TempDir dir;
  testing::ServerChild server(binary, dir.path());
  ASSERT_TRUE(server.WaitServing(health_name)) << server.Log();
  prepare(*server.Channel());

  std::mutex mu;
  std::set<std::string> acknowledged;
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    if (cycle > 0) {
      server.Restart();
      ASSERT_TRUE(server.WaitServing(health_name)) << server.Log();
    }
    std::shared_ptr<grpc::Channel> channel = server.Channel();
    std::atomic<bool> stop{false};
    std::atomic<int> acked{0};
    std::vector<std::thread> clients;
    for (int t = 0; t < kClients; ++t) {
      clients.emplace_back([&, t] {
        for (int n = 0; !stop.load(); ++n) {
          const std::string request_id = absl::StrCat("audit-", cycle, "-", t, "-", n);
          if (write(*channel, request_id, t * 1000000 + n).ok()) {
            std::lock_guard<std::mutex> lock(mu);
            acknowledged.insert(request_id);
            ++acked;
          } else if (stop.load()) {
            break;
          }
        }
      });
    }
    for (int i = 0; i < 3000 && acked.load() < kAcknowledgedPerCycle; ++i) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    server.Kill();  // mid-load: calls are in flight
    stop = true;
    for (auto& c : clients) c.join();
  }
  ASSERT_GT(acknowledged.size(), 0u);

  server.Restart();
  ASSERT_TRUE(server.WaitServing(health_name)) << server.Log();
  const std::set<std::string> audited = AuditedWrites(*server.Channel());
  std::vector<std::string> missing;
  for (const std::string& id : acknowledged) {
    if (audited.count(id) == 0) missing.push_back(id);
  }
  EXPECT_TRUE(missing.empty()) << missing.size() << " of " << acknowledged.size()
                               << " acknowledged writes have no audit entry, e.g. "
                               << missing.front();
  std::cout << "acknowledged writes over " << kCycles << " kill -9 cycles: " << acknowledged.size()
            << ", without an audit entry: " << missing.size() << "\n";
  server.Signal(SIGTERM);
  EXPECT_EQ(server.WaitExit(absl::Seconds(60)), 0);
}

TEST(AuditCrashTest, EveryAcknowledgedPostingIsAuditedAcrossSigkill) {
  const std::string scheme = "plans/dorset-stp/programmes/managing-demand/schemes/rightcare";
  KillUnderLoadAndCheckTheTrail(
      DORSET_FINANCE_BINARY, "dorset.finance.v1.FinanceService", [](grpc::Channel&) {},
      [&](grpc::Channel& channel, const std::string& request_id, int n) {
        auto stub = finance::v1::FinanceService::NewStub(
            std::shared_ptr<grpc::Channel>(&channel, [](grpc::Channel*) {}));
        finance::v1::CreatePostingRequest request;
        request.set_request_id(request_id);
        *request.mutable_posting() = finance::testing::MakePosting(
            scheme, "2019-20", n % 12 + 1, finance::v1::POSTING_KIND_ACTUAL, n % 100000 + 1);
        finance::v1::Posting response;
        return stub->CreatePosting(Context(request_id).get(), request, &response);
      });
}

TEST(AuditCrashTest, EveryAcknowledgedResponseIsAuditedAcrossSigkill) {
  namespace ev1 = engagement::v1;
  KillUnderLoadAndCheckTheTrail(
      DORSET_ENGAGEMENT_BINARY, "dorset.engagement.v1.EngagementService",
      [](grpc::Channel& channel) {
        auto stub = ev1::EngagementService::NewStub(
            std::shared_ptr<grpc::Channel>(&channel, [](grpc::Channel*) {}));
        ev1::CreateActivityRequest create;
        create.set_activity_id("crash");
        create.mutable_activity()->set_kind(ev1::ACTIVITY_KIND_CONSULTATION);
        create.mutable_activity()->set_title("Audit under kill -9");
        create.mutable_activity()->set_purpose("testing");
        ev1::Activity activity;
        grpc::Status status = stub->CreateActivity(Context("").get(), create, &activity);
        ASSERT_TRUE(status.ok()) << status.error_message();
        ev1::OpenActivityRequest open;
        open.set_name("activities/crash");
        status = stub->OpenActivity(Context("").get(), open, &activity);
        ASSERT_TRUE(status.ok()) << status.error_message();
      },
      [](grpc::Channel& channel, const std::string& request_id, int) {
        auto stub = ev1::EngagementService::NewStub(
            std::shared_ptr<grpc::Channel>(&channel, [](grpc::Channel*) {}));
        ev1::CreateResponseRequest request;
        request.set_parent("activities/crash");
        request.set_request_id(request_id);
        request.mutable_response()->set_channel(ev1::CHANNEL_ONLINE);
        request.mutable_response()->set_sentiment(ev1::SENTIMENT_SUPPORTIVE);
        request.mutable_response()->set_locality("localities/north");
        request.mutable_response()->set_text("a view");
        ev1::Response response;
        return stub->CreateResponse(Context(request_id).get(), request, &response);
      });
}

}  // namespace
}  // namespace dorset
