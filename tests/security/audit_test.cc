// Audit rows for writes, refusals and personal-data reads, on real registry and engagement
// servers with token authentication.
#include "absl/strings/str_cat.h"
#include "dorset/common/v1/audit.grpc.pb.h"
#include "dorset/engagement/v1/engagement.grpc.pb.h"
#include "dorset/registry/v1/registry.grpc.pb.h"
#include "gtest/gtest.h"
#include "runtime/server/service_host.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_host.h"
#include "services/engagement/engagement_module.h"
#include "services/registry/registry_module.h"

namespace dorset {
namespace {

class AuditTest : public ::testing::Test {
 protected:
  std::unique_ptr<runtime::ServiceHost> Start(const std::string& name,
                                              std::unique_ptr<runtime::ServiceModule> module) {
    testing::WriteTokensFile(dir_.File("tokens"),
                             {{"editor", "eddie", "registry-editor,engagement-editor"},
                              {"reader", "rita", "reader"},
                              {"pd", "pat", "personal-data-reader"},
                              {"admin", "ada", "admin"}});
    runtime::ServerConfig config = testing::TestServerConfig(name, dir_.File(name));
    config.auth = runtime::AuthMode::kTokens;
    config.tokens_file = dir_.File("tokens");
    auto host = runtime::ServiceHost::Start(config, std::move(module));
    EXPECT_TRUE(host.ok()) << host.status();
    return *std::move(host);
  }

  // The trail as an admin reads it, once it holds at least `want` events.
  std::vector<common::v1::AuditEvent> Trail(int port, size_t want) {
    auto stub = common::v1::AuditService::NewStub(testing::LocalChannel(port));
    common::v1::ListAuditEventsResponse response;
    for (int attempt = 0; attempt < 100; ++attempt) {
      grpc::ClientContext context;
      testing::AddBearer(context, "admin");
      EXPECT_TRUE(stub->ListAuditEvents(&context, {}, &response).ok());
      if (static_cast<size_t>(response.events_size()) >= want) break;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return {response.events().begin(), response.events().end()};
  }

  testing::TempDir dir_;
};

TEST_F(AuditTest, WritesAndRefusalsAreRecordedWithPrincipalResourceAndOutcome) {
  auto host = Start("registry", std::make_unique<registry::RegistryModule>());
  auto stub = registry::v1::RegistryService::NewStub(testing::LocalChannel(host->grpc_port()));
  registry::v1::CreatePracticeRequest create;
  auto* p = create.mutable_practice();
  p->set_ods_code("J81099");
  p->set_display_name("AUDIT TEST SURGERY");
  p->set_postcode("BH15 1AA");
  p->set_status(registry::v1::Practice::STATUS_ACTIVE);
  p->set_open_date("2020-04-01");
  registry::v1::Practice created;
  {
    grpc::ClientContext context;
    testing::AddBearer(context, "editor");
    context.AddMetadata("x-request-id", "audit-create-1");
    grpc::Status status = stub->CreatePractice(&context, create, &created);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  {
    grpc::ClientContext context;
    testing::AddBearer(context, "reader");
    context.AddMetadata("x-request-id", "audit-denied-1");
    registry::v1::UpdatePracticeRequest update;
    update.mutable_practice()->set_name(created.name());
    registry::v1::Practice out;
    EXPECT_EQ(stub->UpdatePractice(&context, update, &out).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  {  // a read is not a write: it leaves no row
    grpc::ClientContext context;
    testing::AddBearer(context, "reader");
    registry::v1::GetPracticeRequest get;
    get.set_name(created.name());
    registry::v1::Practice out;
    EXPECT_TRUE(stub->GetPractice(&context, get, &out).ok());
  }
  // Calls are recorded as they end, which need not be the order they were made in.
  const auto trail = Trail(host->grpc_port(), 2);
  ASSERT_EQ(trail.size(), 2u);
  const bool create_first = trail[0].request_id() == "audit-create-1";
  const auto& write = trail[create_first ? 0 : 1];
  const auto& denied = trail[create_first ? 1 : 0];
  EXPECT_EQ(write.action(), "WRITE");
  EXPECT_EQ(write.principal(), "eddie");
  EXPECT_EQ(write.method(), "/dorset.registry.v1.RegistryService/CreatePractice");
  EXPECT_EQ(write.resource(), "practices/J81099");
  EXPECT_EQ(write.request_id(), "audit-create-1");
  EXPECT_EQ(write.outcome(), "OK");
  EXPECT_EQ(denied.action(), "DENIED");
  EXPECT_EQ(denied.principal(), "rita");
  EXPECT_EQ(denied.resource(), "practices/J81099");
  EXPECT_EQ(denied.request_id(), "audit-denied-1");
  EXPECT_EQ(denied.outcome(), "PERMISSION_DENIED");
}

TEST_F(AuditTest, PersonalDataReadsAreRecordedAndRedactedReadsAreNot) {
  auto host = Start("engagement", std::make_unique<engagement::EngagementModule>());
  auto stub = engagement::v1::EngagementService::NewStub(testing::LocalChannel(host->grpc_port()));
  engagement::v1::CreateStakeholderRequest create;
  create.mutable_stakeholder()->set_kind(engagement::v1::STAKEHOLDER_KIND_PATIENT);
  create.mutable_stakeholder()->set_display_name("Audit Person");
  create.mutable_stakeholder()->mutable_contact()->set_email("audit.person@example.org");
  engagement::v1::Stakeholder created;
  {
    grpc::ClientContext context;
    testing::AddBearer(context, "editor");
    grpc::Status status = stub->CreateStakeholder(&context, create, &created);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  const size_t after_create = Trail(host->grpc_port(), 1).size();
  engagement::v1::GetStakeholderRequest get;
  get.set_name(created.name());
  {
    grpc::ClientContext context;
    testing::AddBearer(context, "reader");
    engagement::v1::Stakeholder out;
    ASSERT_TRUE(stub->GetStakeholder(&context, get, &out).ok());
    EXPECT_EQ(out.contact().email(), "");
  }
  {
    grpc::ClientContext context;
    testing::AddBearer(context, "pd");
    context.AddMetadata("x-request-id", "audit-pd-1");
    engagement::v1::Stakeholder out;
    ASSERT_TRUE(stub->GetStakeholder(&context, get, &out).ok());
    EXPECT_EQ(out.contact().email(), "audit.person@example.org");
  }
  const auto trail = Trail(host->grpc_port(), after_create + 1);
  ASSERT_EQ(trail.size(), after_create + 1);
  const auto& read = trail.back();
  EXPECT_EQ(read.action(), "PERSONAL_DATA_READ");
  EXPECT_EQ(read.principal(), "pat");
  EXPECT_EQ(read.resource(), created.name());
  EXPECT_EQ(read.request_id(), "audit-pd-1");
  for (const auto& e : trail) {  // the trail itself holds no personal data
    EXPECT_EQ(e.resource().find("audit.person"), std::string::npos);
  }
}

}  // namespace
}  // namespace dorset
