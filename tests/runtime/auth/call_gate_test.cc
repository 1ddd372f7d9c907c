#include "runtime/server/call_gate.h"

#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_host.h"

namespace dorset::runtime {
namespace {

constexpr char kHealth[] = "/grpc.health.v1.Health/Check";

// Some method of the real table that needs `permission` (services own their methods' names).
std::string MethodNeeding(Permission permission) {
  for (const std::string& method : TableMethods()) {
    if (RequiredPermission(method) == permission) return method;
  }
  ADD_FAILURE() << "no method needs " << PermissionName(permission);
  return "";
}

class CallGateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dorset::testing::WriteTokensFile(
        dir_.File("tokens"), {{"reader-token", "rita", "reader"}, {"admin-token", "ada", "admin"}});
    config_ = dorset::testing::TestServerConfig("test", dir_.path());
    config_.auth = AuthMode::kTokens;
    config_.tokens_file = dir_.File("tokens");
  }
  std::unique_ptr<CallGate> Gate() {
    auto tokens = TokenStore::Load(config_.tokens_file);
    EXPECT_TRUE(tokens.ok());
    return std::make_unique<CallGate>(config_, *std::move(tokens));
  }
  dorset::testing::TempDir dir_;
  ServerConfig config_;
};

TEST_F(CallGateTest, HealthIsOpenButOtherMethodsNeedCredentials) {
  auto gate = Gate();
  EXPECT_TRUE(gate->Decide(kHealth, "", "").ok());
  // A method the table requires a permission for: no token means UNAUTHENTICATED.
  const std::string read = MethodNeeding(Permission::kRegistryRead);
  auto caller = gate->Decide(read, "", "");
  EXPECT_EQ(caller.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(gate->Decide(read, "Basic abc", "").status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(gate->Decide(read, "Bearer nope", "").status().code(),
            absl::StatusCode::kUnauthenticated);
  auto ok = gate->Decide(read, "Bearer reader-token", "");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->principal, "rita");
  // The reader role lacks write permissions: PERMISSION_DENIED, not UNAUTHENTICATED.
  EXPECT_EQ(gate->Decide(MethodNeeding(Permission::kRegistryWrite), "Bearer reader-token", "")
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(CallGateTest, MethodsMissingFromTheTableAreRefused) {
  auto gate = Gate();
  EXPECT_EQ(
      gate->Decide("/dorset.registry.v1.RegistryService/NoSuchMethod", "Bearer admin-token", "")
          .status()
          .code(),
      absl::StatusCode::kPermissionDenied);
}

TEST_F(CallGateTest, RateLimitPerPrincipalWithRetryInfo) {
  config_.rate_limit_per_second = 1;
  config_.rate_limit_burst = 3;
  auto gate = Gate();
  const std::string method = MethodNeeding(Permission::kRegistryRead);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(gate->Decide(method, "Bearer reader-token", "").ok());
  auto limited = gate->Decide(method, "Bearer reader-token", "");
  EXPECT_EQ(limited.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(limited.status().GetPayload("type.googleapis.com/google.rpc.RetryInfo").has_value());
  // Another principal has its own bucket.
  EXPECT_TRUE(gate->Decide(method, "Bearer admin-token", "").ok());
}

// Issue 10 item 8: a principal listed in principal_rate_limits has its own rate and burst
// instead of the default, and principals never share a bucket.
TEST_F(CallGateTest, PrincipalsWithTheirOwnLimitUseItInsteadOfTheDefault) {
  config_.rate_limit_per_second = 1;
  config_.rate_limit_burst = 2;
  config_.principal_rate_limits = "rita=1/50";
  auto gate = Gate();
  const std::string method = MethodNeeding(Permission::kRegistryRead);
  // ada has the default: 2, then refused.
  ASSERT_TRUE(gate->Decide(method, "Bearer admin-token", "").ok());
  ASSERT_TRUE(gate->Decide(method, "Bearer admin-token", "").ok());
  auto ada = gate->Decide(method, "Bearer admin-token", "");
  EXPECT_EQ(ada.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(ada.status().message().find("ada"), std::string::npos) << ada.status();
  // rita, listed, gets her own 50 although ada has none left.
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(gate->Decide(method, "Bearer reader-token", "").ok()) << "call " << i;
  }
  absl::Status rita = absl::OkStatus();
  for (int i = 0; i < 10 && rita.ok(); ++i) {
    rita = gate->Decide(method, "Bearer reader-token", "").status();
  }
  EXPECT_EQ(rita.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(rita.message().find("rita"), std::string::npos) << rita;
}

TEST_F(CallGateTest, AnOwnLimitOfZeroMeansNoLimitForThatPrincipal) {
  config_.rate_limit_per_second = 1;
  config_.rate_limit_burst = 1;
  config_.principal_rate_limits = "rita=0";
  auto gate = Gate();
  const std::string method = MethodNeeding(Permission::kRegistryRead);
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE(gate->Decide(method, "Bearer reader-token", "").ok()) << "call " << i;
  }
}

TEST_F(CallGateTest, AuthNoneMakesEveryoneAnAdminForDevelopment) {
  config_.auth = AuthMode::kNone;
  CallGate gate(config_, nullptr);
  auto caller = gate.Decide(MethodNeeding(Permission::kRegistryRead), "", "");
  ASSERT_TRUE(caller.ok());
  EXPECT_TRUE(caller->Can(Permission::kAuditRead));
}

TEST(RolesTest, RolesGrantWhatTheTableSays) {
  EXPECT_TRUE(RoleGrants("reader", Permission::kFinanceRead));
  EXPECT_FALSE(RoleGrants("reader", Permission::kFinanceWrite));
  EXPECT_FALSE(RoleGrants("reader", Permission::kPersonalDataRead));
  EXPECT_TRUE(RoleGrants("finance-editor", Permission::kFinanceWrite));
  EXPECT_FALSE(RoleGrants("finance-editor", Permission::kRegistryWrite));
  // Reopening a closed month is finance-admin's alone (and admin's, which has everything).
  EXPECT_FALSE(RoleGrants("finance-editor", Permission::kFinanceAdmin));
  EXPECT_TRUE(RoleGrants("finance-admin", Permission::kFinanceAdmin));
  EXPECT_TRUE(RoleGrants("finance-admin", Permission::kFinanceWrite));
  EXPECT_FALSE(RoleGrants("finance-admin", Permission::kRegistryWrite));
  EXPECT_TRUE(RoleGrants("admin", Permission::kFinanceAdmin));
  // The console's public principal: reads registry and engagement, creates responses, no more.
  EXPECT_TRUE(RoleGrants("engagement-respondent", Permission::kEngagementRespond));
  EXPECT_TRUE(RoleGrants("engagement-respondent", Permission::kEngagementRead));
  EXPECT_TRUE(RoleGrants("engagement-respondent", Permission::kRegistryRead));
  EXPECT_FALSE(RoleGrants("engagement-respondent", Permission::kEngagementWrite));
  EXPECT_FALSE(RoleGrants("engagement-respondent", Permission::kFinanceRead));
  EXPECT_FALSE(RoleGrants("engagement-respondent", Permission::kPersonalDataRead));
  EXPECT_TRUE(RoleGrants("engagement-editor", Permission::kEngagementRespond));
  EXPECT_FALSE(RoleGrants("reader", Permission::kEngagementRespond));
  EXPECT_TRUE(IsWritePermission(Permission::kEngagementRespond));  // every response is audited
  EXPECT_EQ(RequiredPermission("/dorset.engagement.v1.EngagementService/CreateResponse"),
            Permission::kEngagementRespond);
  EXPECT_TRUE(IsWritePermission(Permission::kFinanceAdmin));  // so every reopen is audited
  EXPECT_TRUE(RoleGrants("personal-data-reader", Permission::kPersonalDataRead));
  EXPECT_FALSE(RoleGrants("personal-data-reader", Permission::kPersonalDataErase));
  EXPECT_TRUE(RoleGrants("admin", Permission::kAuditRead));
  EXPECT_FALSE(RoleGrants("nobody", Permission::kRegistryRead));
}

}  // namespace
}  // namespace dorset::runtime
