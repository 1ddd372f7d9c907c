// The finance service while its PostgreSQL server is killed with kill -9 under a posting load
// and restarted: the service stays up, its store reports UNAVAILABLE (readiness NOT_SERVING)
// and postings are refused with UNAVAILABLE while the server is away, it reconnects by itself,
// and afterwards every acknowledged posting is there exactly once. And a server away when the
// service starts: it starts NOT_SERVING and serves (seeded) once the server is back. ctest label
// `postgres_only`: SQLite has no server to lose.
#include <atomic>
#include <functional>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "runtime/server/service_host.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_host.h"
#include "services/finance/finance_module.h"
#include "tests/finance/finance_test_util.h"
#include "tests/runtime/storage/engines.h"

namespace dorset::finance {
namespace {

using testing::MakePosting;

constexpr char kScheme[] = "plans/dorset-stp/programmes/managing-demand/schemes/rightcare";

TEST(FinancePostgresFaultTest, ServerKilledMidLoadMeansUnavailableThenEveryAckedPostingOnce) {
  DORSET_REQUIRE_POSTGRES(dorset::testing::PostgresServer::Start(), pg);
  absl::StatusOr<std::string> uri = pg->CreateDatabase();
  ASSERT_TRUE(uri.ok()) << uri.status();
  dorset::testing::TempDir dir;
  runtime::ServerConfig config = dorset::testing::TestServerConfig("finance", dir.path());
  config.database = *uri;
  auto module = std::make_unique<FinanceModule>();
  FinanceModule* finance = module.get();
  auto host = runtime::ServiceHost::Start(config, std::move(module));
  ASSERT_TRUE(host.ok()) << host.status();
  auto stub = v1::FinanceService::NewStub(dorset::testing::LocalChannel((*host)->grpc_port()));

  absl::Mutex mu;
  std::map<std::string, std::pair<std::string, int64_t>> acknowledged;  // request_id -> name, pence
  std::atomic<int> acked{0}, unavailable{0}, other{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      for (int n = 0; !stop.load(); ++n) {
        const std::string request_id = absl::StrCat("pgkill-", t, "-", n);
        const int64_t pence = t * 100000 + n + 1;
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
        v1::CreatePostingRequest request;
        request.set_request_id(request_id);
        *request.mutable_posting() =
            MakePosting(kScheme, "2019-20", n % 12 + 1, v1::POSTING_KIND_ACTUAL, pence);
        v1::Posting response;
        grpc::Status status = stub->CreatePosting(&context, request, &response);
        if (status.ok()) {
          absl::MutexLock lock(&mu);
          acknowledged[request_id] = {response.name(), pence};
          ++acked;
        } else if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
          ++unavailable;
          absl::SleepFor(absl::Milliseconds(20));
        } else {
          ++other;
          ADD_FAILURE() << status.error_code() << " " << status.error_message();
        }
      }
    });
  }
  const auto wait_for = [](const std::function<bool()>& done) {
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (!done() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(20));
    return done();
  };
  EXPECT_TRUE(wait_for([&] { return acked.load() >= 100; }));
  pg->Kill9();
  // While the server is away: the store says so and postings are refused as UNAVAILABLE.
  EXPECT_TRUE(wait_for([&] { return !finance->CheckStore().ok(); }));
  EXPECT_EQ(finance->CheckStore().code(), absl::StatusCode::kUnavailable);
  const int unavailable_before = unavailable.load();
  EXPECT_TRUE(wait_for([&] { return unavailable.load() > unavailable_before; }));
  const int acked_while_down = acked.load();
  ASSERT_TRUE(pg->Restart().ok());
  // Back by itself: healthy again, and postings are acknowledged again.
  EXPECT_TRUE(wait_for([&] { return finance->CheckStore().ok(); }));
  EXPECT_TRUE(wait_for([&] { return acked.load() >= acked_while_down + 100; }));
  stop = true;
  for (auto& c : clients) c.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_GT(unavailable.load(), 0);

  std::map<std::string, std::vector<v1::Posting>> by_request;
  v1::ListPostingsRequest list;
  list.set_page_size(1000);
  while (true) {
    grpc::ClientContext context;
    v1::ListPostingsResponse page;
    grpc::Status status = stub->ListPostings(&context, list, &page);
    ASSERT_TRUE(status.ok()) << status.error_message();
    for (const auto& p : page.postings()) by_request[p.request_id()].push_back(p);
    if (page.next_page_token().empty()) break;
    list.set_page_token(page.next_page_token());
  }
  absl::MutexLock lock(&mu);
  for (const auto& [request_id, expected] : acknowledged) {
    auto it = by_request.find(request_id);
    ASSERT_NE(it, by_request.end()) << "acknowledged posting lost: " << request_id;
    ASSERT_EQ(it->second.size(), 1u) << request_id;
    EXPECT_EQ(it->second[0].name(), expected.first);
    EXPECT_EQ(it->second[0].amount().pence(), expected.second);
  }
  for (const auto& [request_id, postings] : by_request) EXPECT_EQ(postings.size(), 1u);
  std::cout << "acknowledged: " << acknowledged.size()
            << ", refused UNAVAILABLE: " << unavailable.load()
            << ", postings: " << by_request.size() << "\n";
}

TEST(FinancePostgresFaultTest, ServerAwayAtStartMeansNotServingThenSeededAndServing) {
  DORSET_REQUIRE_POSTGRES(dorset::testing::PostgresServer::Start(), pg);
  absl::StatusOr<std::string> uri = pg->CreateDatabase();
  ASSERT_TRUE(uri.ok()) << uri.status();
  pg->Stop();
  dorset::testing::TempDir dir;
  runtime::ServerConfig config = dorset::testing::TestServerConfig("finance", dir.path());
  config.database = *uri;
  auto module = std::make_unique<FinanceModule>();
  FinanceModule* finance = module.get();
  auto host = runtime::ServiceHost::Start(config, std::move(module));
  ASSERT_TRUE(host.ok()) << host.status();  // no crash loop
  EXPECT_EQ(finance->CheckStore().code(), absl::StatusCode::kUnavailable);
  auto stub = v1::FinanceService::NewStub(dorset::testing::LocalChannel((*host)->grpc_port()));
  const auto get_plan = [&] {
    grpc::ClientContext context;
    v1::GetPlanRequest request;
    request.set_name("plans/dorset-stp");
    v1::Plan plan;
    return stub->GetPlan(&context, request, &plan);
  };
  EXPECT_EQ(get_plan().error_code(), grpc::StatusCode::UNAVAILABLE);

  ASSERT_TRUE(pg->Restart().ok());
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (!finance->CheckStore().ok() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_TRUE(finance->CheckStore().ok()) << finance->CheckStore();
  const grpc::Status status = get_plan();
  EXPECT_TRUE(status.ok()) << status.error_message();  // migrated and seeded at first contact
}

}  // namespace
}  // namespace dorset::finance
