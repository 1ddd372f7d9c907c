// The registry client over mutual TLS: finance and engagement present their own certificate,
// whose common name the registry maps to a principal and role in its tokens file.
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "runtime/cache/lru_cache.h"
#include "runtime/server/service_host.h"
#include "runtime/testing/certificates.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_engine.h"
#include "runtime/testing/test_host.h"
#include "services/registry/client/registry_client.h"
#include "services/registry/registry_module.h"

namespace dorset::registry {
namespace {

class ClientMutualTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(testing::MakeTestCertificates(dir_.path(), "finance.dorset.test").ok());
    testing::WriteFile(dir_.File("tokens"),
                       "x509:finance.dorset.test finance-service registry-reader\n");
    runtime::ServerConfig config = testing::TestServerConfig("registry", dir_.File("registry"));
    absl::StatusOr<std::string> database = ::dorset::testing::TestDatabaseFor(config.data_dir);
    ASSERT_TRUE(database.ok()) << database.status();
    config.database = *database;
    config.plaintext = false;
    config.tls_cert = dir_.File("server.pem");
    config.tls_key = dir_.File("server.key");
    config.tls_client_ca = dir_.File("ca.pem");
    config.auth = runtime::AuthMode::kTokens;
    config.tokens_file = dir_.File("tokens");
    auto host = runtime::ServiceHost::Start(config, std::make_unique<RegistryModule>());
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = *std::move(host);
  }

  runtime::ServerConfig ClientConfig() {
    runtime::ServerConfig c = testing::TestServerConfig("finance", dir_.File("finance"));
    c.registry_target = absl::StrCat("127.0.0.1:", host_->grpc_port());
    c.registry_tls_ca = dir_.File("ca.pem");
    return c;
  }

  testing::TempDir dir_;
  std::unique_ptr<runtime::ServiceHost> host_;
  runtime::LruCache cache_{100};
};

TEST_F(ClientMutualTlsTest, ClientCertificateAuthenticatesTheCallingService) {
  runtime::ServerConfig config = ClientConfig();
  config.registry_tls_cert = dir_.File("client.pem");
  config.registry_tls_key = dir_.File("client.key");
  ASSERT_TRUE(runtime::Validate(config).ok());
  auto client = RegistryClient::Create(config, cache_);
  ASSERT_TRUE(client.ok()) << client.status();
  auto localities = (*client)->ListLocalities();
  EXPECT_TRUE(localities.ok()) << localities.status();
}

TEST_F(ClientMutualTlsTest, WithoutACertificateTheRegistryRefusesTheConnection) {
  auto client = RegistryClient::Create(ClientConfig(), cache_);
  ASSERT_TRUE(client.ok()) << client.status();
  auto localities = (*client)->ListLocalities();
  EXPECT_FALSE(localities.ok());
}

TEST(ClientMutualTlsConfigTest, CertificateAndKeyComeTogetherWithTheCa) {
  testing::TempDir dir;
  runtime::ServerConfig c = testing::TestServerConfig("finance", dir.path());
  c.registry_tls_cert = "client.pem";
  EXPECT_FALSE(runtime::Validate(c).ok());
  c.registry_tls_key = "client.key";
  EXPECT_FALSE(runtime::Validate(c).ok());  // no CA
}

}  // namespace
}  // namespace dorset::registry
