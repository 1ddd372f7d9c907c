// Shared helpers for the engagement tests: a real engagement host on port 0 with a controllable
// clock, a stub, and small builders for the resources most tests need. The host's store is on the
// engine of the run (DORSET_TEST_ENGINE, runtime/testing/test_engine.h: tests/engagement's
// …/sqlite and …/postgres copies of every case).
#ifndef DORSET_TESTS_ENGAGEMENT_ENGAGEMENT_TEST_UTIL_H_
#define DORSET_TESTS_ENGAGEMENT_ENGAGEMENT_TEST_UTIL_H_

#include <atomic>
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "dorset/engagement/v1/engagement.grpc.pb.h"
#include "gtest/gtest.h"
#include "runtime/server/service_host.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_engine.h"
#include "runtime/testing/test_host.h"
#include "services/engagement/engagement_module.h"

namespace dorset::engagement::testing {

namespace v1 = ::dorset::engagement::v1;

// A clock tests move by hand (starts at the real time).
class FakeClock {
 public:
  FakeClock() : micros_(absl::ToUnixMicros(absl::Now())) {}
  absl::Time Now() const { return absl::FromUnixMicros(micros_.load()); }
  void Advance(absl::Duration d) { micros_ += absl::ToInt64Microseconds(d); }

 private:
  std::atomic<int64_t> micros_;
};

struct EngagementServer {
  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>();
  absl::Duration retention = absl::ZeroDuration();
  absl::Duration retention_interval = absl::ZeroDuration();  // zero: the setting's
  std::unique_ptr<runtime::ServiceHost> host;
  EngagementModule* module = nullptr;  // owned by `host`
  std::unique_ptr<v1::EngagementService::Stub> stub;

  // Starts on `config` (TestServerConfig plus the test's changes).
  void Start(runtime::ServerConfig config) {
    if (config.database.empty()) {
      absl::StatusOr<std::string> database = dorset::testing::TestDatabaseFor(config.data_dir);
      ASSERT_TRUE(database.ok()) << database.status();
      config.database = *database;
    }
    EngagementOptions options;
    std::shared_ptr<FakeClock> c = clock;
    options.now = [c] { return c->Now(); };
    options.retention = retention;
    options.retention_interval = retention_interval;
    auto owned = std::make_unique<EngagementModule>(options);
    module = owned.get();
    auto started = runtime::ServiceHost::Start(std::move(config), std::move(owned));
    ASSERT_TRUE(started.ok()) << started.status();
    host = *std::move(started);
    stub = v1::EngagementService::NewStub(dorset::testing::LocalChannel(host->grpc_port()));
  }
};

// A client context, with a bearer token when `token` is not empty.
inline std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token = "") {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  if (!token.empty()) dorset::testing::AddBearer(*context, token);
  return context;
}

inline v1::Activity MakeActivity(v1::EngagementService::Stub& stub, const std::string& id,
                                 const std::string& token = "") {
  v1::CreateActivityRequest request;
  request.set_activity_id(id);
  request.mutable_activity()->set_kind(v1::ACTIVITY_KIND_CONSULTATION);
  request.mutable_activity()->set_title("Test consultation " + id);
  request.mutable_activity()->set_purpose("testing");
  v1::Activity out;
  grpc::Status status = stub.CreateActivity(Ctx(token).get(), request, &out);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return out;
}

inline v1::Theme MakeTheme(v1::EngagementService::Stub& stub, const std::string& activity,
                           const std::string& id, const std::string& token = "") {
  v1::CreateThemeRequest request;
  request.set_parent("activities/" + activity);
  request.set_theme_id(id);
  request.mutable_theme()->set_display_name("Theme " + id);
  v1::Theme out;
  grpc::Status status = stub.CreateTheme(Ctx(token).get(), request, &out);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return out;
}

inline grpc::Status Open(v1::EngagementService::Stub& stub, const std::string& activity,
                         const std::string& token = "") {
  v1::OpenActivityRequest request;
  request.set_name("activities/" + activity);
  v1::Activity out;
  return stub.OpenActivity(Ctx(token).get(), request, &out);
}

inline grpc::Status Respond(v1::EngagementService::Stub& stub, const std::string& activity,
                            const v1::Response& response, v1::Response* out,
                            const std::string& token = "", const std::string& request_id = "") {
  v1::CreateResponseRequest request;
  request.set_parent("activities/" + activity);
  *request.mutable_response() = response;
  request.set_request_id(request_id);
  return stub.CreateResponse(Ctx(token).get(), request, out);
}

inline v1::Response ResponseOf(v1::Channel channel, v1::Sentiment sentiment,
                               const std::string& locality,
                               std::initializer_list<std::string> themes,
                               const std::string& text = "a view") {
  v1::Response r;
  r.set_channel(channel);
  r.set_sentiment(sentiment);
  r.set_locality(locality);
  for (const std::string& t : themes) r.add_themes(t);
  r.set_text(text);
  return r;
}

}  // namespace dorset::engagement::testing

#endif  // DORSET_TESTS_ENGAGEMENT_ENGAGEMENT_TEST_UTIL_H_
