// Hostile gRPC calls against a real host over loopback (issue 10): floods of invented method
// names (items 3 and 4, run under ASan with the suite) and payloads that do not parse (item 14).
#include <httplib.h>

#include <sstream>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "bench/echo/echo_module.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "runtime/logging/log.h"
#include "runtime/server/call_registry.h"
#include "runtime/server/service_host.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_host.h"
#include "spdlog/sinks/ostream_sink.h"

namespace dorset::runtime {
namespace {

constexpr char kListAudit[] = "/dorset.common.v1.AuditService/ListAuditEvents";
// Not a protobuf message: a field tag whose varint never ends.
const std::string kGarbage("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11);

grpc::ByteBuffer Bytes(const std::string& data) {
  grpc::Slice slice(data);
  return grpc::ByteBuffer(&slice, 1);
}

// Makes `calls` concurrent-ish unary calls (batches of 64) and returns their status codes.
std::vector<grpc::StatusCode> Flood(const std::shared_ptr<grpc::Channel>& channel,
                                    const std::vector<std::string>& methods,
                                    const std::string& payload, const std::string& token = "") {
  grpc::GenericStub stub(channel);
  std::vector<grpc::StatusCode> codes(methods.size(), grpc::StatusCode::OK);
  const grpc::ByteBuffer request = Bytes(payload);
  constexpr size_t kBatch = 64;
  for (size_t first = 0; first < methods.size(); first += kBatch) {
    const size_t n = std::min(kBatch, methods.size() - first);
    std::vector<grpc::ClientContext> contexts(n);
    std::vector<grpc::ByteBuffer> responses(n);
    absl::BlockingCounter done(static_cast<int>(n));
    for (size_t i = 0; i < n; ++i) {
      contexts[i].set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
      if (!token.empty()) dorset::testing::AddBearer(contexts[i], token);
      stub.UnaryCall(&contexts[i], methods[first + i], grpc::StubOptions(), &request, &responses[i],
                     [&, i](grpc::Status status) {
                       codes[first + i] = status.error_code();
                       done.DecrementCount();
                     });
    }
    done.Wait();
  }
  return codes;
}

grpc::Status CallOnce(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                      const std::string& payload, const std::string& token = "") {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  if (!token.empty()) dorset::testing::AddBearer(context, token);
  const grpc::ByteBuffer request = Bytes(payload);
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

class HostileCallsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dorset::testing::WriteTokensFile(dir_.File("tokens"), {{"auditor-secret", "aud", "auditor"},
                                                           {"reader-secret", "rdr", "reader"}});
    ServerConfig config = dorset::testing::TestServerConfig("echo", dir_.path());
    config.auth = AuthMode::kTokens;
    config.tokens_file = dir_.File("tokens");
    auto host = ServiceHost::Start(config, std::make_unique<bench::EchoModule>());
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = *std::move(host);
    channel_ = dorset::testing::LocalChannel(host_->grpc_port());
  }

  std::string Metrics() {
    httplib::Client client("127.0.0.1", host_->ops_port());
    client.set_read_timeout(30, 0);
    auto result = client.Get("/metrics");
    EXPECT_TRUE(result);
    return result ? result->body : "";
  }

  // The handled counter is written as each call's interceptor is destroyed, just after the
  // client sees the status; waits (bounded) until `text` shows up.
  std::string MetricsContaining(const std::string& text) {
    std::string body;
    for (int attempt = 0; attempt < 250; ++attempt) {
      body = Metrics();
      if (body.find(text) != std::string::npos) break;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return body;
  }

  dorset::testing::TempDir dir_;
  std::unique_ptr<ServiceHost> host_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(HostileCallsTest, UnknownMethodFloodKeepsMetricsAndCallStateBoundedAndLogsTheName) {
  std::ostringstream log_lines;
  log::InitWithSink("echo", std::make_shared<spdlog::sinks::ostream_sink_mt>(log_lines));

  absl::BitGen gen;
  auto random_methods = [&](int n) {
    std::vector<std::string> methods;
    for (int i = 0; i < n; ++i) {
      methods.push_back(absl::StrCat("/x", absl::Uniform<uint64_t>(gen), ".S/M", i));
    }
    return methods;
  };
  for (grpc::StatusCode code : Flood(channel_, random_methods(100), "")) {
    EXPECT_EQ(code, grpc::StatusCode::UNIMPLEMENTED);
  }
  const std::string after_100 = MetricsContaining(
      R"(grpc_server_handled_total{grpc_code="UNIMPLEMENTED",grpc_method="unknown",grpc_service="unknown"} 100)");
  ASSERT_NE(after_100.find(R"(grpc_method="unknown")"), std::string::npos) << after_100;

  const std::vector<std::string> flood = random_methods(3000);
  for (grpc::StatusCode code : Flood(channel_, flood, kGarbage)) {
    EXPECT_EQ(code, grpc::StatusCode::UNIMPLEMENTED);
  }
  const std::string after_3100 = MetricsContaining(
      R"(grpc_server_handled_total{grpc_code="UNIMPLEMENTED",grpc_method="unknown",grpc_service="unknown"} 3100)");
  EXPECT_NE(after_3100.find("3100"), std::string::npos) << after_3100.substr(0, 4000);
  // Only counts change: one "unknown" series, whatever the number of invented names (each
  // invented name used to add a started, a handled and a 15-bucket histogram series).
  EXPECT_LT(after_3100.size(), after_100.size() + 256)
      << "before: " << after_100.size() << " bytes, after: " << after_3100.size();
  EXPECT_EQ(after_3100.find(flood.back().substr(1, flood.back().find('/', 1) - 1)),
            std::string::npos);
  // No per-call state is left behind.
  for (int i = 0; i < 250 && LiveCallCount() > 0; ++i) absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(LiveCallCount(), 0u);

  // The access log names the method the client asked for (copied while valid, so never
  // garbled; ASan reports the old use-after-free here).
  host_.reset();  // flush the last access-log lines
  (void)log::Init("echo", "info");
  const std::string logged = log_lines.str();
  EXPECT_NE(logged.find(absl::StrCat("\"method\":\"", flood.back(), "\"")), std::string::npos);
}

TEST_F(HostileCallsTest, MalformedPayloadIsUnauthenticatedFirstThenInvalidArgument) {
  // No credentials: the caller is told to authenticate before anything about the payload.
  EXPECT_EQ(CallOnce(channel_, kListAudit, kGarbage).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // A caller without the permission is refused as for a well-formed call.
  EXPECT_EQ(CallOnce(channel_, kListAudit, kGarbage, "reader-secret").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // A caller who may call the method learns that the message was bad.
  const grpc::Status bad = CallOnce(channel_, kListAudit, kGarbage, "auditor-secret");
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(bad.error_message().find("does not parse"), std::string::npos) << bad.error_message();
  // A well-formed (empty) request still works.
  EXPECT_TRUE(CallOnce(channel_, kListAudit, "", "auditor-secret").ok());

  // None of it is counted as a server error (UNIMPLEMENTED is in the error-ratio alert).
  const std::string body = MetricsContaining(
      R"(grpc_server_handled_total{grpc_code="INVALID_ARGUMENT",grpc_method="ListAuditEvents",grpc_service="dorset.common.v1.AuditService"} 1)");
  EXPECT_NE(
      body.find(
          R"(grpc_server_handled_total{grpc_code="UNAUTHENTICATED",grpc_method="ListAuditEvents",grpc_service="dorset.common.v1.AuditService"} 1)"),
      std::string::npos)
      << body;
  EXPECT_EQ(body.find(R"(grpc_code="UNIMPLEMENTED")"), std::string::npos) << body;
}

}  // namespace
}  // namespace dorset::runtime
