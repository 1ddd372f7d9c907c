// A real host with the echo module over loopback: health, request ids, metrics, readiness.
#include "runtime/server/service_host.h"

#include <httplib.h>

#include <condition_variable>
#include <mutex>
#include <regex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "bench/echo/echo_module.h"
#include "dorset/bench/v1/echo.grpc.pb.h"
#include "dorset/common/v1/audit.grpc.pb.h"
#include "google/rpc/error_details.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "runtime/server/build_version.h"
#include "runtime/status/grpc_status.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_host.h"

namespace dorset::runtime {
namespace {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

class ServiceHostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto module = std::make_unique<bench::EchoModule>();
    module_ = module.get();
    auto host = ServiceHost::Start(dorset::testing::TestServerConfig("echo", dir_.path()),
                                   std::move(module));
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = *std::move(host);
    channel_ = dorset::testing::LocalChannel(host_->grpc_port());
  }

  HealthCheckResponse::ServingStatus Health(const std::string& name) {
    auto stub = grpc::health::v1::Health::NewStub(channel_);
    grpc::ClientContext context;
    HealthCheckRequest request;
    request.set_service(name);
    HealthCheckResponse response;
    grpc::Status status = stub->Check(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.status();
  }

  dorset::testing::TempDir dir_;
  bench::EchoModule* module_ = nullptr;
  std::unique_ptr<ServiceHost> host_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(ServiceHostTest, ReportsServingForLivenessAndReadiness) {
  EXPECT_EQ(Health(""), HealthCheckResponse::SERVING);
  EXPECT_EQ(Health("dorset.bench.v1.EchoService"), HealthCheckResponse::SERVING);
}

TEST_F(ServiceHostTest, EchoesClientRequestIdAndGeneratesOneWhenAbsent) {
  auto stub = bench::v1::EchoService::NewStub(channel_);
  bench::v1::EchoRequest request;
  request.set_message("hello");
  bench::v1::EchoResponse response;
  {
    grpc::ClientContext context;
    context.AddMetadata("x-request-id", "req-123");
    ASSERT_TRUE(stub->Echo(&context, request, &response).ok());
    EXPECT_EQ(response.message(), "hello");
    auto it = context.GetServerInitialMetadata().find("x-request-id");
    ASSERT_NE(it, context.GetServerInitialMetadata().end());
    EXPECT_EQ(std::string(it->second.data(), it->second.size()), "req-123");
  }
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub->Echo(&context, request, &response).ok());
    auto it = context.GetServerInitialMetadata().find("x-request-id");
    ASSERT_NE(it, context.GetServerInitialMetadata().end());
    EXPECT_EQ(it->second.size(), 32u);
  }
}

TEST_F(ServiceHostTest, MetricsCountCallsByMethodAndCode) {
  auto stub = bench::v1::EchoService::NewStub(channel_);
  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext context;
    bench::v1::EchoRequest request;
    bench::v1::EchoResponse response;
    ASSERT_TRUE(stub->Echo(&context, request, &response).ok());
  }
  httplib::Client client("127.0.0.1", host_->ops_port());
  // The handled counter is written when the call's interceptor is destroyed, just after
  // the client sees the response; poll briefly.
  std::string body;
  for (int attempt = 0; attempt < 50; ++attempt) {
    auto result = client.Get("/metrics");
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 200);
    body = result->body;
    if (body.find(
            R"(grpc_server_handled_total{grpc_code="OK",grpc_method="Echo",grpc_service="dorset.bench.v1.EchoService"} 3)") !=
        std::string::npos)
      break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_NE(
      body.find(
          R"(grpc_server_handled_total{grpc_code="OK",grpc_method="Echo",grpc_service="dorset.bench.v1.EchoService"} 3)"),
      std::string::npos)
      << body;
  EXPECT_NE(body.find("grpc_server_handling_seconds_bucket"), std::string::npos);
}

TEST_F(ServiceHostTest, ReadinessFollowsTheStore) {
  httplib::Client client("127.0.0.1", host_->ops_port());
  auto ready = client.Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(client.Get("/livez")->status, 200);

  module_->set_store_ok(false);
  host_->RefreshHealth();
  auto not_ready = client.Get("/readyz");
  ASSERT_TRUE(not_ready);
  EXPECT_EQ(not_ready->status, 503);
  EXPECT_NE(not_ready->body.find("store not ready"), std::string::npos);
  EXPECT_EQ(Health("dorset.bench.v1.EchoService"), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(Health(""), HealthCheckResponse::SERVING);  // liveness does not follow readiness

  module_->set_store_ok(true);
  host_->RefreshHealth();
  EXPECT_EQ(Health("dorset.bench.v1.EchoService"), HealthCheckResponse::SERVING);
  EXPECT_EQ(client.Get("/readyz")->status, 200);
}

// The ops port reports the build's version: the project version and the configure-time commit
// (or "unknown"), the same string BuildVersion() holds; HEAD answers without a body.
TEST_F(ServiceHostTest, OpsPortReportsTheBuildVersion) {
  const std::string version(BuildVersion());
  EXPECT_TRUE(std::regex_match(
      version,
      std::regex(absl::StrCat("^", absl::StrReplaceAll(DORSET_PROJECT_VERSION, {{".", "\\."}}),
                              "\\+([0-9a-f]{7,40}|unknown)$"))))
      << version;
  httplib::Client client("127.0.0.1", host_->ops_port());
  auto got = client.Get("/version");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(got->body, version + "\n");
  auto head = client.Head("/version");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_TRUE(head->body.empty());
}

// Asks grpc.reflection.v1alpha for the list of services, over the generic callback API (the
// reflection protos are compiled into libgrpc++_reflection, not into this project).
class ReflectionProbe final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  explicit ReflectionProbe(std::shared_ptr<grpc::Channel> channel) : stub_(std::move(channel)) {}

  std::string ListServices() {
    // ServerReflectionRequest{list_services: ""}: field 7, length-delimited, empty.
    static const char kRequest[] = {0x3a, 0x00};
    grpc::Slice slice(kRequest, sizeof(kRequest));
    request_ = grpc::ByteBuffer(&slice, 1);
    stub_.PrepareBidiStreamingCall(&context_,
                                   "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                                   grpc::StubOptions(), this);
    StartWrite(&request_);
    StartRead(&response_);
    StartCall();
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return done_; });
    return answer_;
  }

  void OnWriteDone(bool ok) override {
    if (ok) StartWritesDone();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    std::vector<grpc::Slice> slices;
    (void)response_.Dump(&slices);
    for (const auto& s : slices) answer_.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  void OnDone(const grpc::Status& status) override {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
    cv_.notify_one();
  }

 private:
  grpc::GenericStub stub_;
  grpc::ClientContext context_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  std::string answer_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
};

TEST_F(ServiceHostTest, ServerReflectionListsTheServices) {
  ReflectionProbe probe(channel_);
  const std::string answer = probe.ListServices();
  EXPECT_NE(answer.find("dorset.bench.v1.EchoService"), std::string::npos);
  EXPECT_NE(answer.find("dorset.common.v1.AuditService"), std::string::npos);
  EXPECT_NE(answer.find("grpc.health.v1.Health"), std::string::npos);
}

TEST(RateLimitTest, ExcessCallsOfOnePrincipalGetResourceExhaustedWithRetryInfo) {
  dorset::testing::TempDir dir;
  dorset::testing::WriteTokensFile(dir.File("tokens"), {{"admin", "ada", "admin"}});
  ServerConfig config = dorset::testing::TestServerConfig("echo", dir.path());
  config.auth = AuthMode::kTokens;
  config.tokens_file = dir.File("tokens");
  config.rate_limit_per_second = 1;
  config.rate_limit_burst = 2;
  auto host = ServiceHost::Start(config, std::make_unique<bench::EchoModule>());
  ASSERT_TRUE(host.ok()) << host.status();
  auto stub =
      common::v1::AuditService::NewStub(dorset::testing::LocalChannel((*host)->grpc_port()));
  std::vector<grpc::Status> results;
  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext context;
    dorset::testing::AddBearer(context, "admin");
    common::v1::ListAuditEventsResponse response;
    results.push_back(stub->ListAuditEvents(&context, {}, &response));
  }
  EXPECT_TRUE(results[0].ok());
  EXPECT_TRUE(results[1].ok());
  ASSERT_EQ(results[2].error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  google::rpc::RetryInfo retry;
  bool has_retry = false;
  const google::rpc::Status details = DecodeDetails(results[2]);
  for (const auto& any : details.details()) has_retry = has_retry || any.UnpackTo(&retry);
  EXPECT_TRUE(has_retry);
  EXPECT_GT(retry.retry_delay().nanos() + retry.retry_delay().seconds(), 0);
}

}  // namespace
}  // namespace dorset::runtime
