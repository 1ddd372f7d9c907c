// Registry-backed checks with a REAL registry host in the test: localities and practices are
// created through the registry's gRPC API, and the engagement host reaches it through the
// registry client (registry_target), exactly as in production.
#include "dorset/registry/v1/registry.grpc.pb.h"
#include "gmock/gmock.h"
#include "services/registry/registry_module.h"
#include "tests/engagement/engagement_test_util.h"

namespace dorset::engagement::testing {
namespace {

using ::grpc::StatusCode;
namespace reg = ::dorset::registry::v1;

class RegistryChecksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto registry = runtime::ServiceHost::Start(
        dorset::testing::TestServerConfig("registry", registry_dir_.path()),
        std::make_unique<registry::RegistryModule>());
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = *std::move(registry);
    auto stub =
        reg::RegistryService::NewStub(dorset::testing::LocalChannel(registry_->grpc_port()));

    // Localities (and their cluster) through the import API.
    {
      grpc::ClientContext context;
      reg::ImportReport report;
      auto writer = stub->ImportFile(&context, &report);
      reg::ImportChunk chunk;
      chunk.mutable_options()->set_kind(reg::LOCALITIES);
      chunk.mutable_options()->set_source_name("engagement-test");
      chunk.set_data(
          "locality_id,locality_name,cluster_id,cluster_name\n"
          "east-test,East Test,cluster-test,Cluster Test\n"
          "west-test,West Test,cluster-test,Cluster Test\n");
      ASSERT_TRUE(writer->Write(chunk));
      writer->WritesDone();
      grpc::Status status = writer->Finish();
      ASSERT_TRUE(status.ok()) << status.error_message();
    }
    AddPractice(*stub, "J99901", "localities/east-test", 8000);
    AddPractice(*stub, "J99902", "localities/west-test", 3000);

    runtime::ServerConfig config = dorset::testing::TestServerConfig("engagement", dir_.path());
    config.registry_target = "127.0.0.1:" + std::to_string(registry_->grpc_port());
    server_.Start(config);
  }

  void AddPractice(reg::RegistryService::Stub& stub, const std::string& code,
                   const std::string& locality, int64_t patients) {
    reg::CreatePracticeRequest request;
    reg::Practice& p = *request.mutable_practice();
    p.set_ods_code(code);
    p.set_display_name("Test Surgery " + code);
    p.set_postcode("BH22 9HB");
    p.set_status(reg::Practice::ACTIVE);
    p.set_open_date("2000-01-01");
    p.set_prescribing_setting(4);
    p.set_commissioner("11J");
    p.set_locality(locality);
    p.set_list_size(patients);
    p.set_list_size_date("2024-01-01");
    grpc::ClientContext context;
    reg::Practice out;
    grpc::Status status = stub.CreatePractice(&context, request, &out);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  void TearDown() override {
    if (server_.host) server_.host->Shutdown();
    if (registry_) registry_->Shutdown();
  }

  v1::EngagementService::Stub& stub() { return *server_.stub; }

  dorset::testing::TempDir registry_dir_, dir_;
  std::unique_ptr<runtime::ServiceHost> registry_;
  EngagementServer server_;
};

TEST_F(RegistryChecksTest, ChecksLocalitiesAndPracticesAgainstTheRegistry) {
  v1::CreateActivityRequest create;
  create.set_activity_id("registry-backed");
  create.mutable_activity()->set_kind(v1::SURVEY);
  create.mutable_activity()->set_title("Registry-backed survey");
  create.mutable_activity()->add_localities("localities/nowhere");
  v1::Activity activity;
  grpc::Status refused = stub().CreateActivity(Ctx().get(), create, &activity);
  EXPECT_EQ(refused.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(refused.error_message(), ::testing::HasSubstr("activity.localities[0]"));
  create.mutable_activity()->set_localities(0, "localities/east-test");
  create.mutable_activity()->add_localities("localities/west-test");
  ASSERT_TRUE(stub().CreateActivity(Ctx().get(), create, &activity).ok());
  ASSERT_TRUE(Open(stub(), "registry-backed").ok());

  // A practice alone: its locality comes from the registry.
  v1::Response r = ResponseOf(v1::ONLINE, v1::SUPPORTIVE, "", {});
  r.set_practice("practices/J99901");
  v1::Response out;
  ASSERT_TRUE(Respond(stub(), "registry-backed", r, &out).ok());
  EXPECT_EQ(out.locality(), "localities/east-test");
  ASSERT_TRUE(Respond(stub(), "registry-backed", r, &out).ok());
  // A locality alone.
  ASSERT_TRUE(Respond(stub(), "registry-backed",
                      ResponseOf(v1::PHONE, v1::OPPOSED, "localities/west-test", {}), &out)
                  .ok());

  // Refusals, each naming its field.
  r.set_locality("localities/west-test");  // J99901 is in east-test
  grpc::Status mismatch = Respond(stub(), "registry-backed", r, &out);
  EXPECT_EQ(mismatch.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(mismatch.error_message(), ::testing::HasSubstr("response.locality"));
  r.clear_locality();
  r.set_practice("practices/J00000");
  grpc::Status unknown_practice = Respond(stub(), "registry-backed", r, &out);
  EXPECT_EQ(unknown_practice.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(unknown_practice.error_message(), ::testing::HasSubstr("response.practice"));
  grpc::Status unknown_locality =
      Respond(stub(), "registry-backed",
              ResponseOf(v1::ONLINE, v1::NEUTRAL, "localities/atlantis", {}), &out);
  EXPECT_EQ(unknown_locality.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(unknown_locality.error_message(), ::testing::HasSubstr("response.locality"));

  // Participation per 1,000 registered patients, from the registry's list sizes:
  // east 2 / 8,000 = 0.250; west 1 / 3,000 = 0.333 (0.3333... rounded down).
  v1::GetActivityAggregatesRequest request;
  request.set_name("activities/registry-backed/aggregates");
  v1::ActivityAggregates a;
  ASSERT_TRUE(stub().GetActivityAggregates(Ctx().get(), request, &a).ok());
  EXPECT_EQ(a.total_responses(), 3);
  ASSERT_EQ(a.participation_size(), 2);
  EXPECT_EQ(a.participation(0).locality(), "localities/east-test");
  EXPECT_EQ(a.participation(0).responses(), 2);
  EXPECT_EQ(a.participation(0).registered_patients(), 8000);
  EXPECT_EQ(a.participation(0).per_thousand_millis(), 250);
  EXPECT_EQ(a.participation(0).per_thousand(), "0.250");
  EXPECT_EQ(a.participation(1).locality(), "localities/west-test");
  EXPECT_EQ(a.participation(1).registered_patients(), 3000);
  EXPECT_EQ(a.participation(1).per_thousand(), "0.333");
}

}  // namespace
}  // namespace dorset::engagement::testing
