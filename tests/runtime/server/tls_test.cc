// TLS and mutual TLS on a real host, with certificates made by openssl in the test.
#include "absl/strings/str_cat.h"
#include "bench/echo/echo_module.h"
#include "dorset/bench/v1/echo.grpc.pb.h"
#include "dorset/common/v1/audit.grpc.pb.h"
#include "gtest/gtest.h"
#include "runtime/server/service_host.h"
#include "runtime/testing/certificates.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_host.h"

namespace dorset::runtime {
namespace {

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dorset::testing::MakeTestCertificates(dir_.path(), "finance.dorset.test").ok());
  }

  std::unique_ptr<ServiceHost> Start(bool mutual) {
    ServerConfig config = dorset::testing::TestServerConfig("echo", dir_.File("data"));
    config.plaintext = false;
    config.tls_cert = dir_.File("server.pem");
    config.tls_key = dir_.File("server.key");
    if (mutual) {
      config.tls_client_ca = dir_.File("ca.pem");
      config.auth = AuthMode::kTokens;
      dorset::testing::WriteFile(dir_.File("tokens"),
                                 "x509:finance.dorset.test finance-service auditor\n");
      config.tokens_file = dir_.File("tokens");
    }
    auto host = ServiceHost::Start(config, std::make_unique<bench::EchoModule>());
    EXPECT_TRUE(host.ok()) << host.status();
    return host.ok() ? *std::move(host) : nullptr;
  }

  std::shared_ptr<grpc::Channel> Channel(int port, bool with_client_cert) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = dorset::testing::ReadTestFile(dir_.File("ca.pem"));
    if (with_client_cert) {
      options.pem_private_key = dorset::testing::ReadTestFile(dir_.File("client.key"));
      options.pem_cert_chain = dorset::testing::ReadTestFile(dir_.File("client.pem"));
    }
    return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::SslCredentials(options));
  }

  grpc::Status Echo(std::shared_ptr<grpc::Channel> channel) {
    auto stub = bench::v1::EchoService::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    bench::v1::EchoRequest request;
    bench::v1::EchoResponse response;
    return stub->Echo(&context, request, &response);
  }

  dorset::testing::TempDir dir_;
};

TEST_F(TlsTest, ServesTlsAndRefusesPlaintextClients) {
  auto host = Start(false);
  ASSERT_NE(host, nullptr);
  EXPECT_TRUE(Echo(Channel(host->grpc_port(), false)).ok());
  EXPECT_FALSE(Echo(dorset::testing::LocalChannel(host->grpc_port())).ok());
}

TEST_F(TlsTest, MutualTlsRequiresAClientCertificateWhoseNameBecomesThePrincipal) {
  auto host = Start(true);
  ASSERT_NE(host, nullptr);
  EXPECT_FALSE(Echo(Channel(host->grpc_port(), false)).ok());  // no client certificate
  auto channel = Channel(host->grpc_port(), true);
  EXPECT_TRUE(Echo(channel).ok());

  // The certificate's CN maps to a principal with the auditor role, which may read the trail.
  auto stub = common::v1::AuditService::NewStub(channel);
  grpc::ClientContext context;
  common::v1::ListAuditEventsResponse response;
  grpc::Status status = stub->ListAuditEvents(&context, {}, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(TlsTest, UnregisteredCertificateIsUnauthenticated) {
  auto host = Start(true);
  ASSERT_NE(host, nullptr);
  // Same CA, different CN: the handshake succeeds but the name is not in the tokens file.
  ASSERT_TRUE(dorset::testing::MakeClientCertificate(dir_.path(), "stranger.test").ok());
  auto stub = common::v1::AuditService::NewStub(Channel(host->grpc_port(), true));
  grpc::ClientContext context;
  common::v1::ListAuditEventsResponse response;
  EXPECT_EQ(stub->ListAuditEvents(&context, {}, &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

}  // namespace
}  // namespace dorset::runtime
