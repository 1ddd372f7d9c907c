// Every registry RPC is in the method -> permission table, writes need kRegistryWrite, and a
// reader's token is refused on writes by the real gate.
#include "runtime/auth/permissions.h"

#include <set>

#include "dorset/registry/v1/registry.grpc.pb.h"
#include "gtest/gtest.h"
#include "runtime/auth/token_store.h"
#include "runtime/server/call_gate.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_host.h"

namespace dorset::registry {
namespace {

TEST(RegistryPermissions, EveryMethodIsInTheTableAndWritesNeedWrite) {
  const google::protobuf::ServiceDescriptor* service =
      v1::Practice::descriptor()->file()->FindServiceByName("RegistryService");
  const std::set<std::string> writes = {"CreatePractice", "UpdatePractice", "ClosePractice",
                                        "ImportFile"};
  for (int i = 0; i < service->method_count(); ++i) {
    const std::string name = service->method(i)->name();
    const std::string full = "/" + service->full_name() + "/" + name;
    std::optional<runtime::Permission> permission = runtime::RequiredPermission(full);
    ASSERT_TRUE(permission.has_value()) << full;
    EXPECT_EQ(*permission, writes.count(name) ? runtime::Permission::kRegistryWrite
                                              : runtime::Permission::kRegistryRead)
        << full;
  }
}

TEST(RegistryPermissions, ReaderMayReadButNotWrite) {
  dorset::testing::TempDir dir;
  dorset::testing::WriteTokensFile(dir.File("tokens"),
                                   {{"reader-secret", "analyst", "reader"},
                                    {"editor-secret", "registry-team", "registry-editor"}});
  runtime::ServerConfig config = dorset::testing::TestServerConfig("registry", dir.path());
  config.auth = runtime::AuthMode::kTokens;
  config.tokens_file = dir.File("tokens");
  auto tokens = runtime::TokenStore::Load(config.tokens_file);
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  runtime::CallGate gate(config, *std::move(tokens));
  const std::string service = "/dorset.registry.v1.RegistryService/";
  EXPECT_TRUE(gate.Decide(service + "GetPractice", "Bearer reader-secret", "").ok());
  EXPECT_TRUE(gate.Decide(service + "WatchChanges", "Bearer reader-secret", "").ok());
  EXPECT_EQ(gate.Decide(service + "ImportFile", "Bearer reader-secret", "").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(gate.Decide(service + "CreatePractice", "Bearer reader-secret", "").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(gate.Decide(service + "ImportFile", "Bearer editor-secret", "").ok());
}

}  // namespace
}  // namespace dorset::registry
