// Per-head figures against a REAL registry: a registry host runs in-process (its own store),
// localities come in through its ImportFile API and practices through CreatePractice; the
// finance host reads populations through the registry client and a real shared Redis cache.
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
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

class PerHeadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto redis = dorset::testing::RedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);

    runtime::ServerConfig registry_config =
        dorset::testing::TestServerConfig("registry", registry_dir_.path());
    registry_config.redis = redis_->address();
    registry_config.rate_limit_per_second = registry_rate_limit_;
    registry_config.rate_limit_burst = registry_rate_limit_;
    auto registry =
        runtime::ServiceHost::Start(registry_config, std::make_unique<registry::RegistryModule>());
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = *std::move(registry);
    registry_stub_ =
        reg::RegistryService::NewStub(dorset::testing::LocalChannel(registry_->grpc_port()));

    runtime::ServerConfig finance_config =
        dorset::testing::TestServerConfig("finance", finance_dir_.path());
    finance_config.redis = redis_->address();
    finance_config.registry_target = absl::StrCat("127.0.0.1:", registry_->grpc_port());
    auto finance = runtime::ServiceHost::Start(finance_config, std::make_unique<FinanceModule>());
    ASSERT_TRUE(finance.ok()) << finance.status();
    finance_ = *std::move(finance);
    stub_ = v1::FinanceService::NewStub(dorset::testing::LocalChannel(finance_->grpc_port()));
  }

  void ImportLocalities(const std::string& csv) {
    grpc::ClientContext context;
    reg::ImportReport report;
    auto writer = registry_stub_->ImportFile(&context, &report);
    reg::ImportFileRequest chunk;
    chunk.mutable_options()->set_kind(reg::IMPORT_KIND_LOCALITIES);
    chunk.set_data(csv);
    ASSERT_TRUE(writer->Write(chunk));
    writer->WritesDone();
    grpc::Status status = writer->Finish();
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  void CreatePractice(const std::string& code, const std::string& locality, int64_t patients) {
    grpc::ClientContext context;
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

  void ClosePractice(const std::string& code) {
    grpc::ClientContext context;
    reg::ClosePracticeRequest request;
    request.set_name("practices/" + code);
    request.set_close_date("2020-03-31");
    request.set_request_id("close-" + code);
    reg::Practice closed;
    grpc::Status status = registry_stub_->ClosePractice(&context, request, &closed);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  void CreateBudgetLine(const std::string& id, const std::string& scope, int64_t pence) {
    grpc::ClientContext context;
    v1::CreateBudgetLineRequest request;
    request.set_budget_line_id(id);
    request.mutable_budget_line()->set_display_name(id);
    request.mutable_budget_line()->set_financial_year("2020-21");
    request.mutable_budget_line()->set_scope(scope);
    request.mutable_budget_line()->mutable_amount()->set_pence(pence);
    v1::BudgetLine line;
    grpc::Status status = stub_->CreateBudgetLine(&context, request, &line);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  int registry_rate_limit_ = 0;  // per principal per second on the registry; 0 = off
  dorset::testing::TempDir registry_dir_;
  dorset::testing::TempDir finance_dir_;
  std::unique_ptr<dorset::testing::RedisServer> redis_;
  std::unique_ptr<runtime::ServiceHost> registry_;
  std::unique_ptr<reg::RegistryService::Stub> registry_stub_;
  std::unique_ptr<runtime::ServiceHost> finance_;
  std::unique_ptr<v1::FinanceService::Stub> stub_;
};

// Populations: poole-bay 1,000 (a closed practice's 500 do not count), poole-north 3,000,
// weymouth 2,000; 6,000 in all. Budget (pence): the seed's illustrative 120,000,000,000 for
// the whole system, 1,000,000 for poole-bay, 300,000 for cluster dorset-west. Savings: the
// seed's 22,900,000,000, all system-wide. Worked by hand:
//   system      budget 120,001,300,000 / 6,000 = 20,000,216.67 -> 20,000,217 per head
//   dorset-west 300,000 + 120e9 x 2/6 = 40,000,300,000 -> 20,000,150 per head
//   weymouth    the same (the cluster's only locality)
//   poole       1,000,000 + 120e9 x 4/6 = 80,001,000,000 -> 20,000,250 per head
//   poole-bay   1,000,000 + 120e9 x 1/6 = 20,001,000,000 -> 20,001,000 per head
//   poole-north 120e9 x 3/6 = 60,000,000,000 -> 20,000,000 per head
//   savings per head everywhere 22.9e9 / 6,000 = 3,816,666.67 -> 3,816,667; the poole
//   cluster's share 15,266,666,666.67 -> 15,266,666,667.
TEST_F(PerHeadTest, FiguresByLocalityAndClusterFromTheRegistry) {
  ImportLocalities(
      "locality_id,locality_name,cluster_id,cluster_name\n"
      "poole-bay,Poole Bay,poole,Poole\n"
      "poole-north,Poole North,poole,Poole\n"
      "weymouth,Weymouth and Portland,dorset-west,Dorset West\n");
  CreatePractice("Y90001", "poole-bay", 1000);
  CreatePractice("Y90002", "poole-north", 3000);
  CreatePractice("Y90003", "weymouth", 1200);
  CreatePractice("Y90004", "weymouth", 800);
  CreatePractice("Y90005", "poole-bay", 500);
  ClosePractice("Y90005");
  CreateBudgetLine("poole-bay-extra", "localities/poole-bay", 1000000);
  CreateBudgetLine("dorset-west-extra", "clusters/dorset-west", 300000);

  grpc::ClientContext context;
  v1::GetPerHeadFiguresRequest request;
  request.set_name("plans/dorset-stp/perHeadFigures");
  request.set_financial_year("2020-21");
  v1::PerHeadFigures figures;
  grpc::Status status = stub_->GetPerHeadFigures(&context, request, &figures);
  ASSERT_TRUE(status.ok()) << status.error_message();

  struct Expected {
    std::string area;
    int64_t patients, budget, budget_per_head, savings, savings_per_head;
  };
  const std::vector<Expected> expected = {
      {"", 6000, 120001300000, 20000217, 22900000000, 3816667},
      {"clusters/dorset-west", 2000, 40000300000, 20000150, 7633333333, 3816667},
      {"localities/weymouth", 2000, 40000300000, 20000150, 7633333333, 3816667},
      {"clusters/poole", 4000, 80001000000, 20000250, 15266666667, 3816667},
      {"localities/poole-bay", 1000, 20001000000, 20001000, 3816666667, 3816667},
      {"localities/poole-north", 3000, 60000000000, 20000000, 11450000000, 3816667},
  };
  ASSERT_EQ(figures.areas_size(), static_cast<int>(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i) {
    const v1::AreaFigures& a = figures.areas(static_cast<int>(i));
    const Expected& e = expected[i];
    EXPECT_EQ(a.area(), e.area);
    EXPECT_EQ(a.registered_patients(), e.patients) << e.area;
    EXPECT_EQ(a.budget().pence(), e.budget) << e.area;
    EXPECT_EQ(a.budget_per_head().pence(), e.budget_per_head) << e.area;
    EXPECT_EQ(a.savings_target().pence(), e.savings) << e.area;
    EXPECT_EQ(a.savings_target_per_head().pence(), e.savings_per_head) << e.area;
  }
  EXPECT_EQ(figures.areas(1).display_name(), "Dorset West");
  EXPECT_EQ(figures.areas(4).display_name(), "Poole Bay");

  EXPECT_FALSE(figures.registry_data_stale());
  EXPECT_TRUE(figures.has_registry_data_time());

  // A second call answers the same (the registry client may now read the shared cache).
  grpc::ClientContext again_context;
  v1::PerHeadFigures again;
  ASSERT_TRUE(stub_->GetPerHeadFigures(&again_context, request, &again).ok());
  again.clear_registry_data_time();
  figures.clear_registry_data_time();
  EXPECT_EQ(again.SerializeAsString(), figures.SerializeAsString());

  // A closed scheme's savings target is what it delivered: closing the £34m stretch target
  // (nothing delivered) takes it out of the savings figures (docs/finance.md "Closed schemes").
  grpc::ClientContext close_context;
  v1::CloseSchemeRequest close;
  close.set_name("plans/dorset-stp/programmes/stretch-target/schemes/stretch-target");
  v1::Scheme closed;
  ASSERT_TRUE(stub_->CloseScheme(&close_context, close, &closed).ok());
  grpc::ClientContext after_context;
  v1::PerHeadFigures after;
  ASSERT_TRUE(stub_->GetPerHeadFigures(&after_context, request, &after).ok());
  EXPECT_EQ(after.areas(0).savings_target().pence(), 22900000000 - 3400000000);
}

class PerHeadRateLimitedTest : public PerHeadTest {
 protected:
  PerHeadRateLimitedTest() { registry_rate_limit_ = 10; }
};

// Issue 10 item 8: with Redis hung, per-head figures asked for 60 times in a row must not turn
// into 120 registry calls against its rate limit (10/s here): the registry client's local
// copies keep it to a handful, and no call fails.
TEST_F(PerHeadRateLimitedTest, RedisHungDoesNotExhaustTheRegistryRateLimit) {
  ImportLocalities(
      "locality_id,locality_name,cluster_id,cluster_name\n"
      "poole-bay,Poole Bay,poole,Poole\n");
  CreatePractice("Y90001", "poole-bay", 1000);
  redis_->Pause();
  // One caller, as fast as it can: the registry and finance hosts share this process's gRPC
  // threads, so callers blocked on one another here would measure the harness, not the client
  // (single-flight under concurrency: registry_client_test).
  int ok = 0;
  int exhausted = 0;
  for (int i = 0; i < 60; ++i) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    v1::GetPerHeadFiguresRequest request;
    request.set_name("plans/dorset-stp/perHeadFigures");
    request.set_financial_year("2020-21");
    v1::PerHeadFigures figures;
    grpc::Status status = stub_->GetPerHeadFigures(&context, request, &figures);
    if (status.ok() && figures.areas_size() == 3 && !figures.registry_data_stale()) {
      ++ok;
    } else if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED ||
               absl::StrContains(status.error_message(), "rate limit")) {
      ++exhausted;
    } else {
      ADD_FAILURE() << status.error_code() << " " << status.error_message();
    }
  }
  redis_->Resume();
  EXPECT_EQ(exhausted, 0);
  EXPECT_EQ(ok, 60);
}

TEST_F(PerHeadTest, BadYearIsRefusedWithTheField) {
  grpc::ClientContext context;
  v1::GetPerHeadFiguresRequest request;
  request.set_name("plans/dorset-stp/perHeadFigures");
  request.set_financial_year("2030-31");
  v1::PerHeadFigures figures;
  EXPECT_EQ(stub_->GetPerHeadFigures(&context, request, &figures).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace dorset::finance
