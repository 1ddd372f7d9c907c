// Issue 10 item 8: finance and engagement call the registry as their own principals, each with
// its own rate limit (principal_rate_limits, runtime/config/config.h), so finance's per-head
// figures with Redis down never meet RESOURCE_EXHAUSTED and one service exhausting its limit
// leaves the other's calls alone. A real registry host (bearer tokens, the configured limits,
// the default 200/s for everyone else), a real finance host calling it with its own token, and
// a real redis-server that the test stops.
#include <atomic>
#include <fstream>
#include <iostream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "dorset/finance/v1/finance.grpc.pb.h"
#include "dorset/registry/v1/registry.grpc.pb.h"
#include "gtest/gtest.h"
#include "runtime/server/service_host.h"
#include "runtime/testing/redis_server.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_host.h"
#include "services/finance/finance_module.h"
#include "services/registry/registry_module.h"

namespace dorset::finance {
namespace {

namespace reg = dorset::registry::v1;

constexpr char kAdmin[] = "admin-secret";
constexpr char kFinance[] = "finance-secret";
constexpr char kEngagement[] = "engagement-secret";

struct Counts {
  std::atomic<int> ok{0};
  std::atomic<int> exhausted{0};
  std::atomic<int> other{0};
  void Add(const grpc::Status& status) {
    if (status.ok()) {
      ++ok;
    } else if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      ++exhausted;
    } else {
      ++other;
    }
  }
};

class RegistryLimitsTest : public ::testing::Test {
 protected:
  void Start(const std::string& principal_rate_limits) {
    auto redis = dorset::testing::RedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    dorset::testing::WriteTokensFile(secrets_.File("tokens"),
                                     {{kAdmin, "local-admin", "admin"},
                                      {kFinance, "local-finance", "registry-reader"},
                                      {kEngagement, "local-engagement", "registry-reader"}});
    std::ofstream(secrets_.File("finance.token")) << kFinance << "\n";

    runtime::ServerConfig registry_config =
        dorset::testing::TestServerConfig("registry", registry_dir_.path());
    const runtime::ServerConfig defaults;
    registry_config.auth = runtime::AuthMode::kTokens;
    registry_config.tokens_file = secrets_.File("tokens");
    registry_config.redis = redis_->address();
    // Everyone else keeps the default limit: the 200/s (burst 400) that finance and
    // engagement used to share.
    registry_config.rate_limit_per_second = defaults.rate_limit_per_second;
    registry_config.rate_limit_burst = defaults.rate_limit_burst;
    registry_config.principal_rate_limits = principal_rate_limits;
    auto registry =
        runtime::ServiceHost::Start(registry_config, std::make_unique<registry::RegistryModule>());
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = *std::move(registry);
    registry_stub_ =
        reg::RegistryService::NewStub(dorset::testing::LocalChannel(registry_->grpc_port()));
    ImportLocalities();
    CreatePractice("Y90001", "poole-bay", 1000);
    CreatePractice("Y90002", "weymouth", 2000);

    runtime::ServerConfig finance_config =
        dorset::testing::TestServerConfig("finance", finance_dir_.path());
    finance_config.redis = redis_->address();
    finance_config.registry_target = absl::StrCat("127.0.0.1:", registry_->grpc_port());
    finance_config.service_token_file = secrets_.File("finance.token");
    auto finance = runtime::ServiceHost::Start(finance_config, std::make_unique<FinanceModule>());
    ASSERT_TRUE(finance.ok()) << finance.status();
    finance_ = *std::move(finance);
    stub_ = v1::FinanceService::NewStub(dorset::testing::LocalChannel(finance_->grpc_port()));
  }

  void ImportLocalities() {
    grpc::ClientContext context;
    dorset::testing::AddBearer(context, kAdmin);
    reg::ImportReport report;
    auto writer = registry_stub_->ImportFile(&context, &report);
    reg::ImportFileRequest chunk;
    chunk.mutable_options()->set_kind(reg::IMPORT_KIND_LOCALITIES);
    chunk.set_data(
        "locality_id,locality_name,cluster_id,cluster_name\n"
        "poole-bay,Poole Bay,poole,Poole\n"
        "weymouth,Weymouth and Portland,dorset-west,Dorset West\n");
    ASSERT_TRUE(writer->Write(chunk));
    writer->WritesDone();
    grpc::Status status = writer->Finish();
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  void CreatePractice(const std::string& code, const std::string& locality, int64_t patients) {
    grpc::ClientContext context;
    dorset::testing::AddBearer(context, kAdmin);
    reg::CreatePracticeRequest request;
    reg::Practice* p = request.mutable_practice();
    p->set_ods_code(code);
    p->set_display_name("TEST SURGERY " + code);
    p->add_address_lines("1 HIGH STREET");
    p->set_postcode("BH15 1AA");
    p->set_status(reg::Practice::STATUS_ACTIVE);
    p->set_open_date("2015-04-01");
    p->set_prescribing_setting(4);
    p->set_commissioner("11J");
    p->set_locality("localities/" + locality);
    p->set_list_size(patients);
    p->set_list_size_date("2021-01-01");
    request.set_request_id("create-" + code);
    reg::Practice created;
    grpc::Status status = registry_stub_->CreatePractice(&context, request, &created);
    ASSERT_TRUE(status.ok()) << code << ": " << status.error_message();
  }

  // A registry read as `token`'s principal: the call finance makes for per-head figures when
  // it holds no fresh copy.
  grpc::Status RegistryRead(const std::string& token) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    dorset::testing::AddBearer(context, token);
    reg::ListLocalitiesResponse response;
    return registry_stub_->ListLocalities(&context, reg::ListLocalitiesRequest(), &response);
  }

  grpc::Status PerHead() {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    v1::GetPerHeadFiguresRequest request;
    request.set_name("plans/dorset-stp/perHeadFigures");
    request.set_financial_year("2020-21");
    v1::PerHeadFigures figures;
    grpc::Status status = stub_->GetPerHeadFigures(&context, request, &figures);
    if (status.ok() && figures.areas_size() != 5) {
      return grpc::Status(grpc::StatusCode::INTERNAL,
                          absl::StrCat(figures.areas_size(), " areas in the figures"));
    }
    return status;
  }

  // Runs `call` `per_thread` times on each of `threads` threads as fast as they go; returns
  // the calls per second reached.
  template <typename Fn>
  static double Hammer(int threads, int per_thread, Counts& counts, Fn call) {
    const absl::Time start = absl::Now();
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&] {
        for (int i = 0; i < per_thread; ++i) counts.Add(call());
      });
    }
    for (std::thread& w : workers) w.join();
    return threads * per_thread / absl::ToDoubleSeconds(absl::Now() - start);
  }

  dorset::testing::TempDir secrets_;
  dorset::testing::TempDir registry_dir_;
  dorset::testing::TempDir finance_dir_;
  std::unique_ptr<dorset::testing::RedisServer> redis_;
  std::unique_ptr<runtime::ServiceHost> registry_;
  std::unique_ptr<reg::RegistryService::Stub> registry_stub_;
  std::unique_ptr<runtime::ServiceHost> finance_;
  std::unique_ptr<v1::FinanceService::Stub> stub_;
};

// The configured defaults: with Redis stopped, finance's per-head figures and the registry
// reads behind them, at more calls than the old shared limit allowed (200/s after a burst of
// 400), all succeed.
TEST_F(RegistryLimitsTest, RedisStoppedPerHeadAboveTheOldSharedLimitSucceeds) {
  Start(runtime::ServerConfig().principal_rate_limits);
  redis_->Kill();

  // One caller, as fast as it goes: the finance and registry hosts share this process's gRPC
  // callback threads, so concurrent per-head callers would starve the registry calls they wait
  // for and measure the harness (the concurrent load is on the registry reads below).
  Counts per_head;
  const double per_head_rate = Hammer(1, 200, per_head, [&] { return PerHead(); });
  std::cout << "per-head with Redis stopped: " << per_head.ok.load() << " OK, "
            << per_head.exhausted.load() << " RESOURCE_EXHAUSTED at "
            << static_cast<int>(per_head_rate) << " calls/s\n";
  EXPECT_EQ(per_head.exhausted.load(), 0);
  EXPECT_EQ(per_head.other.load(), 0);
  EXPECT_EQ(per_head.ok.load(), 200);

  // What finance sends when its copies are missing or expired: 1,200 registry reads as
  // local-finance, more than the old limit's burst of 400 plus 200/s allows at the rate the
  // threads reach here.
  Counts reads;
  const double read_rate = Hammer(4, 300, reads, [&] { return RegistryRead(kFinance); });
  std::cout << "registry reads as local-finance: " << reads.ok.load() << " OK, "
            << reads.exhausted.load() << " RESOURCE_EXHAUSTED at " << static_cast<int>(read_rate)
            << " calls/s\n";
  EXPECT_EQ(reads.exhausted.load(), 0);
  EXPECT_EQ(reads.other.load(), 0);
  EXPECT_EQ(reads.ok.load(), 1200);
  // Per-head still answers after that traffic.
  EXPECT_TRUE(PerHead().ok());
}

// Small limits, so a test can use them up: engagement exhausting its own leaves finance's (and
// everyone else's) alone, and the refusal names the principal whose limit it was.
TEST_F(RegistryLimitsTest, OneServiceExhaustingItsLimitLeavesTheOthersAlone) {
  Start("local-finance=1/8,local-engagement=1/8");
  redis_->Kill();

  grpc::Status refused;
  for (int i = 0; i < 50 && refused.ok(); ++i) refused = RegistryRead(kEngagement);
  ASSERT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(absl::StrContains(refused.error_message(), "local-engagement"))
      << refused.error_message();

  // Finance's per-head figures take two registry calls of its own eight.
  grpc::Status per_head = PerHead();
  EXPECT_TRUE(per_head.ok()) << per_head.error_code() << " " << per_head.error_message();
  for (int i = 0; i < 4; ++i) {
    grpc::Status status = RegistryRead(kFinance);
    EXPECT_TRUE(status.ok()) << "finance read " << i << ": " << status.error_message();
  }
  // Now finance uses its own up; the admin (default limit) is unaffected.
  refused = grpc::Status::OK;
  for (int i = 0; i < 50 && refused.ok(); ++i) refused = RegistryRead(kFinance);
  ASSERT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(absl::StrContains(refused.error_message(), "local-finance"))
      << refused.error_message();
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(RegistryRead(kAdmin).ok()) << "admin read " << i;
}

}  // namespace
}  // namespace dorset::finance
