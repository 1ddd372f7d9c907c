// Walks every method of every service, from the generated descriptors (so a new RPC cannot be
// forgotten), against real servers with token authentication: no credentials must give
// UNAUTHENTICATED, and a role without the method's permission PERMISSION_DENIED.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "runtime/auth/permissions.h"
#include "runtime/server/service_host.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_host.h"
#include "services/engagement/engagement_module.h"
#include "services/finance/finance_module.h"
#include "services/registry/registry_module.h"

namespace dorset {
namespace {

using runtime::Permission;

struct Running {
  std::string name;
  std::unique_ptr<runtime::ServiceHost> host;
  std::vector<std::string> services;
};

class MethodPermissionsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    std::vector<testing::TestToken> tokens;
    for (const std::string& role : runtime::KnownRoles()) {
      tokens.push_back({"token-" + role, "user-" + role, role});
    }
    testing::WriteTokensFile(dir_->File("tokens"), tokens);
    running_ = new std::vector<Running>();
    Start("registry", std::make_unique<registry::RegistryModule>());
    Start("finance", std::make_unique<finance::FinanceModule>());
    Start("engagement", std::make_unique<engagement::EngagementModule>());
  }
  static void TearDownTestSuite() {
    delete running_;
    delete dir_;
  }

  static void Start(const std::string& name, std::unique_ptr<runtime::ServiceModule> module) {
    runtime::ServerConfig config = testing::TestServerConfig(name, dir_->File(name));
    config.auth = runtime::AuthMode::kTokens;
    config.tokens_file = dir_->File("tokens");
    if (name != "registry") {
      config.registry_target = absl::StrCat("127.0.0.1:", running_->front().host->grpc_port());
      testing::WriteFile(dir_->File("service.token"), "token-reader");
      config.service_token_file = dir_->File("service.token");
    }
    auto host = runtime::ServiceHost::Start(config, std::move(module));
    ASSERT_TRUE(host.ok()) << name << ": " << host.status();
    Running r{name, *std::move(host), {}};
    r.services = r.host->module().HealthNames();
    r.services.push_back("dorset.common.v1.AuditService");
    running_->push_back(std::move(r));
  }

  static grpc::Status Call(int port, const std::string& method, const std::string& token) {
    grpc::GenericStub stub(testing::LocalChannel(port));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (!token.empty()) testing::AddBearer(context, token);
    grpc::ByteBuffer request;  // an empty message: every field at its default
    grpc::Slice empty("");
    request = grpc::ByteBuffer(&empty, 1);
    grpc::ByteBuffer response;
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    grpc::Status result;
    stub.UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                   [&](grpc::Status status) {
                     std::lock_guard<std::mutex> lock(mu);
                     result = status;
                     done = true;
                     cv.notify_one();
                   });
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done; });
    return result;
  }

  static testing::TempDir* dir_;
  static std::vector<Running>* running_;
};

testing::TempDir* MethodPermissionsTest::dir_ = nullptr;
std::vector<Running>* MethodPermissionsTest::running_ = nullptr;

TEST_F(MethodPermissionsTest, EveryMethodRefusesMissingAndInsufficientCredentials) {
  int methods_checked = 0;
  for (const Running& r : *running_) {
    for (const std::string& service_name : r.services) {
      const auto* service =
          google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service_name);
      ASSERT_NE(service, nullptr) << service_name;
      for (int i = 0; i < service->method_count(); ++i) {
        const std::string method =
            absl::StrCat("/", service->full_name(), "/", service->method(i)->name());
        SCOPED_TRACE(method);
        const std::optional<Permission> required = runtime::RequiredPermission(method);
        ASSERT_TRUE(required.has_value()) << "not in runtime/auth/method_permissions.cc";
        ASSERT_NE(*required, Permission::kPublic) << "service methods are never public";

        EXPECT_EQ(Call(r.host->grpc_port(), method, "").error_code(),
                  grpc::StatusCode::UNAUTHENTICATED);
        EXPECT_EQ(Call(r.host->grpc_port(), method, "not-a-token").error_code(),
                  grpc::StatusCode::UNAUTHENTICATED);

        std::string lacking;
        for (const std::string& role : runtime::KnownRoles()) {
          if (!runtime::RoleGrants(role, *required)) {
            lacking = role;
            break;
          }
        }
        ASSERT_FALSE(lacking.empty()) << "every role may call it";
        EXPECT_EQ(Call(r.host->grpc_port(), method, "token-" + lacking).error_code(),
                  grpc::StatusCode::PERMISSION_DENIED)
            << "role " << lacking;
        ++methods_checked;
      }
    }
  }
  EXPECT_GT(methods_checked, 20);
}

TEST_F(MethodPermissionsTest, EveryTableEntryNamesARealMethod) {
  for (const std::string& method : runtime::TableMethods()) {
    std::string full = method.substr(1);
    const size_t slash = full.find('/');
    const auto* service = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
        full.substr(0, slash));
    if (service == nullptr) continue;  // health/reflection/bench live in other binaries
    EXPECT_NE(service->FindMethodByName(full.substr(slash + 1)), nullptr) << method;
  }
}

}  // namespace
}  // namespace dorset
