// Calls observed without a gRPC interceptor (runtime/server/call_observer.h): the host registers
// none, so a path it does not serve goes to UnknownMethods and a stream is observed by the
// StreamCall its reactor takes. Each must still leave its metrics, x-request-id, access-log line
// and audit event as before, over a real host on loopback.
#include <httplib.h>

#include <sstream>

#include "absl/synchronization/notification.h"
#include "bench/echo/echo_module.h"
#include "dorset/common/v1/audit.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "runtime/logging/log.h"
#include "runtime/server/service_host.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_host.h"
#include "spdlog/sinks/ostream_sink.h"

namespace dorset::runtime {
namespace {

constexpr char kWatch[] = "/grpc.health.v1.Health/Watch";
// Not a protobuf message: a field tag whose varint never ends.
const std::string kGarbage("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11);

// One unary call over the generic API (any path, any payload); the server's initial metadata
// lands in `context`.
grpc::Status CallOnce(const std::shared_ptr<grpc::Channel>& channel, grpc::ClientContext& context,
                      const std::string& method, const std::string& payload) {
  grpc::GenericStub stub(channel);
  grpc::Slice slice(payload);
  const grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  absl::Notification done;
  grpc::Status result;
  stub.UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                 [&](grpc::Status status) {
                   result = std::move(status);
                   done.Notify();
                 });
  done.WaitForNotification();
  return result;
}

std::string RequestIdSent(const grpc::ClientContext& context) {
  const auto& metadata = context.GetServerInitialMetadata();
  auto it = metadata.find("x-request-id");
  return it == metadata.end() ? "" : std::string(it->second.data(), it->second.size());
}

// Health is closed (credentials asked for), so a stream can be refused and audited.
class CallObservationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::InitWithSink("echo", std::make_shared<spdlog::sinks::ostream_sink_mt>(log_lines_));
    dorset::testing::WriteTokensFile(dir_.File("tokens"), {{"auditor-secret", "aud", "auditor"},
                                                           {"reader-secret", "rdr", "reader"}});
    ServerConfig config = dorset::testing::TestServerConfig("echo", dir_.path());
    config.auth = AuthMode::kTokens;
    config.tokens_file = dir_.File("tokens");
    config.open_health = false;
    auto host = ServiceHost::Start(config, std::make_unique<bench::EchoModule>());
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = *std::move(host);
    channel_ = dorset::testing::LocalChannel(host_->grpc_port());
  }
  void TearDown() override { (void)log::Init("echo", "info"); }

  // The metrics once `text` shows up in them (a call's series are written just after its
  // client has the status); bounded.
  std::string MetricsContaining(const std::string& text) {
    httplib::Client client("127.0.0.1", host_->ops_port());
    client.set_read_timeout(30, 0);
    std::string body;
    for (int attempt = 0; attempt < 250; ++attempt) {
      auto result = client.Get("/metrics");
      body = result ? result->body : "";
      if (body.find(text) != std::string::npos) break;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return body;
  }

  // The access log once the host has stopped (every call's line written).
  std::string StopAndReadLog() {
    host_.reset();
    return log_lines_.str();
  }

  std::ostringstream log_lines_;
  dorset::testing::TempDir dir_;
  std::unique_ptr<ServiceHost> host_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(CallObservationTest, UnknownMethodIsUnimplementedCountedAndLoggedWithItsRequestId) {
  grpc::ClientContext context;
  context.AddMetadata("x-request-id", "unknown-call-1");
  const grpc::Status status = CallOnce(channel_, context, "/no.such.v1.Service/Nope", kGarbage);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(RequestIdSent(context), "unknown-call-1");

  const std::string handled =
      R"(grpc_server_handled_total{grpc_code="UNIMPLEMENTED",grpc_method="unknown",grpc_service="unknown"} 1)";
  const std::string body = MetricsContaining(handled);
  EXPECT_NE(body.find(handled), std::string::npos) << body;
  EXPECT_NE(
      body.find(R"(grpc_server_started_total{grpc_method="unknown",grpc_service="unknown"} 1)"),
      std::string::npos)
      << body;
  EXPECT_EQ(body.find("no.such"), std::string::npos) << "an invented name became a label";

  const std::string logged = StopAndReadLog();
  const size_t line = logged.find(R"("method":"/no.such.v1.Service/Nope")");
  ASSERT_NE(line, std::string::npos) << logged;
  const std::string rest = logged.substr(line, logged.find('\n', line) - line);
  EXPECT_NE(rest.find(R"("status":"UNIMPLEMENTED")"), std::string::npos) << rest;
  EXPECT_NE(rest.find(R"("request_id":"unknown-call-1")"), std::string::npos) << rest;
}

TEST_F(CallObservationTest, StreamIsCountedEchoesItsRequestIdAndARefusalIsAudited) {
  auto stub = grpc::health::v1::Health::NewStub(channel_);
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  {  // Refused: no credentials.
    grpc::ClientContext context;
    context.AddMetadata("x-request-id", "refused-watch-1");
    auto reader = stub->Watch(&context, request);
    EXPECT_FALSE(reader->Read(&response));
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(RequestIdSent(context), "refused-watch-1");
  }
  {  // Admitted, one status read, then cancelled by the client.
    grpc::ClientContext context;
    dorset::testing::AddBearer(context, "reader-secret");
    context.AddMetadata("x-request-id", "watch-1");
    auto reader = stub->Watch(&context, request);
    ASSERT_TRUE(reader->Read(&response));
    EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
    EXPECT_EQ(RequestIdSent(context), "watch-1");
    context.TryCancel();
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  const std::string cancelled =
      R"(grpc_server_handled_total{grpc_code="CANCELLED",grpc_method="Watch",grpc_service="grpc.health.v1.Health"} 1)";
  const std::string body = MetricsContaining(cancelled);
  EXPECT_NE(body.find(cancelled), std::string::npos) << body;
  EXPECT_NE(
      body.find(
          R"(grpc_server_handled_total{grpc_code="UNAUTHENTICATED",grpc_method="Watch",grpc_service="grpc.health.v1.Health"} 1)"),
      std::string::npos)
      << body;
  EXPECT_NE(
      body.find(
          R"(grpc_server_started_total{grpc_method="Watch",grpc_service="grpc.health.v1.Health"} 2)"),
      std::string::npos)
      << body;

  // The refusal is in the trail, under its request id.
  auto audit = common::v1::AuditService::NewStub(channel_);
  grpc::ClientContext context;
  dorset::testing::AddBearer(context, "auditor-secret");
  common::v1::ListAuditEventsResponse events;
  ASSERT_TRUE(audit->ListAuditEvents(&context, {}, &events).ok());
  int denied = 0;
  for (const common::v1::AuditEvent& event : events.events()) {
    if (event.method() != kWatch) continue;
    ++denied;
    EXPECT_EQ(event.action(), "DENIED");
    EXPECT_EQ(event.outcome(), "UNAUTHENTICATED");
    EXPECT_EQ(event.request_id(), "refused-watch-1");
  }
  EXPECT_EQ(denied, 1) << events.DebugString();
}

TEST_F(CallObservationTest, StreamRequestThatDoesNotParseIsRefusedAfterTheGate) {
  {
    grpc::ClientContext context;
    EXPECT_EQ(CallOnce(channel_, context, kWatch, kGarbage).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  grpc::ClientContext context;
  dorset::testing::AddBearer(context, "reader-secret");
  const grpc::Status bad = CallOnce(channel_, context, kWatch, kGarbage);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(bad.error_message().find("does not parse"), std::string::npos) << bad.error_message();
  const std::string refused =
      R"(grpc_server_handled_total{grpc_code="INVALID_ARGUMENT",grpc_method="Watch",grpc_service="grpc.health.v1.Health"} 1)";
  const std::string body = MetricsContaining(refused);
  EXPECT_NE(body.find(refused), std::string::npos) << body;
  EXPECT_EQ(body.find(R"(grpc_code="UNIMPLEMENTED")"), std::string::npos) << body;
}

}  // namespace
}  // namespace dorset::runtime
