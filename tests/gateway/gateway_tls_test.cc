// The gateway with TLS on both sides, as scripts/run's DORSET_RUN_TLS=1 and the tls component run
// it: HTTPS to callers (verified against the CA), TLS to the gRPC service (the gateway verifies
// the service's certificate with the same CA), and nothing on plain HTTP.
#include <httplib.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "dorset/gateway/testing/v1/shelf.grpc.pb.h"
#include "gateway/gateway_server.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "runtime/testing/certificates.h"
#include "runtime/testing/temp_dir.h"

namespace dorset::gateway {
namespace {

namespace v1 = dorset::gateway::testing::v1;

class EchoOnly final : public v1::ShelfService::Service {
  grpc::Status Echo(grpc::ServerContext*, const v1::EchoRequest* request,
                    v1::EchoResponse* response) override {
    response->set_text(request->text());
    return grpc::Status::OK;
  }
};

TEST(GatewayTlsTest, HttpsInTlsOut) {
  dorset::testing::TempDir dir;
  ASSERT_TRUE(dorset::testing::MakeTestCertificates(dir.path(), "gateway-test").ok());
  const std::string ca = dir.path() + "/ca.pem";
  const std::string cert = dir.path() + "/server.pem";
  const std::string key = dir.path() + "/server.key";

  EchoOnly service;
  grpc::SslServerCredentialsOptions tls;
  tls.pem_key_cert_pairs.push_back(
      {dorset::testing::ReadTestFile(key), dorset::testing::ReadTestFile(cert)});
  grpc::ServerBuilder builder;
  int grpc_port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(tls), &grpc_port);
  builder.RegisterService(&service);
  auto grpc_server = builder.BuildAndStart();
  ASSERT_GT(grpc_port, 0);

  grpc::SslCredentialsOptions client_tls;
  client_tls.pem_root_certs = dorset::testing::ReadTestFile(ca);
  GatewayOptions options;
  // 127.0.0.1 with the certificate's name checked as "localhost" (no DNS lookup by c-ares).
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  options.backends["dorset.gateway.testing.v1.ShelfService"] = grpc::CreateCustomChannel(
      absl::StrCat("127.0.0.1:", grpc_port), grpc::SslCredentials(client_tls), args);
  options.tls_cert = cert;
  options.tls_key = key;
  auto gateway = GatewayServer::Start(std::move(options));
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  EXPECT_TRUE((*gateway)->tls());

  httplib::SSLClient https("localhost", (*gateway)->port());
  https.set_ca_cert_path(ca.c_str());
  https.enable_server_certificate_verification(true);
  auto answer = https.Get("/v1/echo/over-tls");
  ASSERT_TRUE(answer) << httplib::to_string(answer.error());
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->body, "\"over-tls\"");

  // Plain HTTP to the HTTPS port gets no HTTP answer.
  httplib::Client plain("127.0.0.1", (*gateway)->port());
  plain.set_read_timeout(5, 0);
  auto refused = plain.Get("/v1/echo/x");
  EXPECT_TRUE(!refused || refused->status != 200);

  // A caller that does not trust the CA is refused the handshake.
  httplib::SSLClient untrusting("localhost", (*gateway)->port());
  untrusting.set_ca_cert_path((dir.path() + "/client.pem").c_str());
  untrusting.enable_server_certificate_verification(true);
  EXPECT_FALSE(untrusting.Get("/v1/echo/x"));

  (*gateway)->Stop();
  grpc_server->Shutdown();
}

}  // namespace
}  // namespace dorset::gateway
