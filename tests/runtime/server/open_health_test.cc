// --open_health (issue 10, item 15): with true, health and reflection answer without
// credentials (Kubernetes probes); with false, health asks for credentials like any method and
// reflection is not served at all.
#include <condition_variable>
#include <mutex>

#include "bench/echo/echo_module.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "runtime/server/service_host.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_host.h"

namespace dorset::runtime {
namespace {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// One grpc.reflection.v1alpha list_services exchange over the generic API; returns the status
// and the raw answer.
class ReflectionProbe final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  explicit ReflectionProbe(std::shared_ptr<grpc::Channel> channel) : stub_(std::move(channel)) {}

  grpc::Status ListServices(std::string* answer) {
    static const char kRequest[] = {0x3a, 0x00};  // ServerReflectionRequest{list_services: ""}
    grpc::Slice slice(kRequest, sizeof(kRequest));
    request_ = grpc::ByteBuffer(&slice, 1);
    context_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    stub_.PrepareBidiStreamingCall(&context_,
                                   "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                                   grpc::StubOptions(), this);
    StartWrite(&request_);
    StartRead(&response_);
    StartCall();
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return done_; });
    *answer = answer_;
    return status_;
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
    status_ = status;
    done_ = true;
    cv_.notify_one();
  }

 private:
  grpc::GenericStub stub_;
  grpc::ClientContext context_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  std::string answer_;
  grpc::Status status_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
};

class OpenHealthTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    dorset::testing::WriteTokensFile(dir_.File("tokens"), {{"reader-secret", "rdr", "reader"}});
    ServerConfig config = dorset::testing::TestServerConfig("echo", dir_.path());
    config.auth = AuthMode::kTokens;
    config.tokens_file = dir_.File("tokens");
    config.open_health = GetParam();
    auto host = ServiceHost::Start(config, std::make_unique<bench::EchoModule>());
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = *std::move(host);
    channel_ = dorset::testing::LocalChannel(host_->grpc_port());
  }

  grpc::Status Check(const std::string& name, const std::string& token,
                     HealthCheckResponse* response) {
    auto stub = grpc::health::v1::Health::NewStub(channel_);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    if (!token.empty()) dorset::testing::AddBearer(context, token);
    HealthCheckRequest request;
    request.set_service(name);
    return stub->Check(&context, request, response);
  }

  // Opens Watch, reads the first status, cancels; returns the first status or the error.
  grpc::Status WatchFirst(const std::string& name, const std::string& token,
                          HealthCheckResponse* first) {
    auto stub = grpc::health::v1::Health::NewStub(channel_);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    if (!token.empty()) dorset::testing::AddBearer(context, token);
    HealthCheckRequest request;
    request.set_service(name);
    auto reader = stub->Watch(&context, request);
    if (reader->Read(first)) {
      context.TryCancel();
      (void)reader->Finish();
      return grpc::Status::OK;
    }
    return reader->Finish();
  }

  dorset::testing::TempDir dir_;
  std::unique_ptr<ServiceHost> host_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_P(OpenHealthTest, HealthAndReflectionAnswerWithoutCredentialsOnlyWhenOpen) {
  const bool open = GetParam();
  HealthCheckResponse response;
  grpc::Status anonymous = Check("", "", &response);
  if (open) {
    ASSERT_TRUE(anonymous.ok()) << anonymous.error_message();
    EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
  } else {
    EXPECT_EQ(anonymous.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  EXPECT_EQ(Check("dorset.bench.v1.EchoService", "wrong-secret", &response).error_code(),
            open ? grpc::StatusCode::OK : grpc::StatusCode::UNAUTHENTICATED);

  // With a valid token health answers either way, readiness included.
  ASSERT_TRUE(Check("dorset.bench.v1.EchoService", "reader-secret", &response).ok());
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
  EXPECT_EQ(Check("no.such.Service", "reader-secret", &response).error_code(),
            grpc::StatusCode::NOT_FOUND);

  HealthCheckResponse first;
  const grpc::Status watch = WatchFirst("", "", &first);
  if (open) {
    ASSERT_TRUE(watch.ok()) << watch.error_message();
    EXPECT_EQ(first.status(), HealthCheckResponse::SERVING);
  } else {
    EXPECT_EQ(watch.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  ASSERT_TRUE(WatchFirst("", "reader-secret", &first).ok());
  EXPECT_EQ(first.status(), HealthCheckResponse::SERVING);

  std::string answer;
  ReflectionProbe probe(channel_);
  const grpc::Status reflection = probe.ListServices(&answer);
  if (open) {
    ASSERT_TRUE(reflection.ok()) << reflection.error_message();
    EXPECT_NE(answer.find("dorset.bench.v1.EchoService"), std::string::npos);
  } else {
    // The built-in reflection service cannot be put behind the gate, so it is not served.
    EXPECT_FALSE(reflection.ok());
    EXPECT_EQ(answer.find("dorset.bench.v1.EchoService"), std::string::npos);
  }
}

TEST_P(OpenHealthTest, WatchSeesReadinessChangeAndEndsAtShutdown) {
  auto stub = grpc::health::v1::Health::NewStub(channel_);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  dorset::testing::AddBearer(context, "reader-secret");
  HealthCheckRequest request;
  request.set_service("dorset.bench.v1.EchoService");
  auto reader = stub->Watch(&context, request);
  HealthCheckResponse response;
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
  std::thread stopper([&] { host_->Shutdown(); });
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);
  while (reader->Read(&response)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  stopper.join();
}

INSTANTIATE_TEST_SUITE_P(OpenHealth, OpenHealthTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Open" : "Closed";
                         });

}  // namespace
}  // namespace dorset::runtime
