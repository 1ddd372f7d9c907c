// GetActivity and GetActivityAggregates answered from replies kept per store generation (issue 16:
// runtime/server/cached_unary.h, EngagementStore::generation, runtime/storage/data_version.h). A
// repeated read is served from the cache (its metrics say so) and still admits every caller (one
// without engagement.read is refused after the reply was kept); the next read after any
// acknowledged write — an activity edit, its opening, a response through the group committer —
// shows it at once on the replica that wrote; another replica on the same PostgreSQL database
// shows it as soon as the commit's notification reaches its DataVersionFollower (the test allows
// 10 s and prints the delay). Both engines (SQLite: one replica, its own writes).
#include <httplib.h>

#include <functional>
#include <iostream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/engagement/engagement_test_util.h"

namespace dorset::engagement {
namespace {

using testing::Ctx;
using testing::EngagementServer;

constexpr char kEditor[] = "editor-token";
constexpr char kFinance[] = "finance-token";  // no engagement.read

class ReplyCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> database = dorset::testing::TestDatabaseFor(dir_a_.path());
    ASSERT_TRUE(database.ok()) << database.status();
    postgres_ = absl::StartsWith(*database, "postgres");
    dorset::testing::WriteTokensFile(
        tokens_.File("tokens"),
        {{kEditor, "editor", "engagement-editor"}, {kFinance, "finance", "finance-reader"}});
    a_.Start(Config(dir_a_, *database));
    ASSERT_NE(a_.host, nullptr);
    // Another replica on the same database (PostgreSQL only: SQLite is one process's file).
    if (postgres_) {
      b_.Start(Config(dir_b_, *database));
      ASSERT_NE(b_.host, nullptr);
    }
  }
  void TearDown() override {
    for (EngagementServer* s : {&b_, &a_}) {
      if (s->host) s->host->Shutdown();
      s->host.reset();
    }
  }

  runtime::ServerConfig Config(dorset::testing::TempDir& dir, const std::string& database) {
    runtime::ServerConfig config = dorset::testing::TestServerConfig("engagement", dir.path());
    config.database = database;
    config.auth = runtime::AuthMode::kTokens;
    config.tokens_file = tokens_.File("tokens");
    return config;
  }

  // The writer: the other replica on PostgreSQL, the same one on SQLite.
  EngagementServer& writer() { return postgres_ ? b_ : a_; }

  v1::Activity Activity(EngagementServer& server) {
    v1::GetActivityRequest request;
    request.set_name("activities/cached");
    v1::Activity out;
    grpc::Status status = server.stub->GetActivity(Ctx(kEditor).get(), request, &out);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return out;
  }
  v1::ActivityAggregates Aggregates(EngagementServer& server) {
    v1::GetActivityAggregatesRequest request;
    request.set_name("activities/cached/aggregates");
    v1::ActivityAggregates out;
    grpc::Status status = server.stub->GetActivityAggregates(Ctx(kEditor).get(), request, &out);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return out;
  }

  // Until `seen()` holds (10 s at most); prints how long it took.
  static bool Eventually(const std::function<bool()>& seen) {
    const absl::Time start = absl::Now();
    while (absl::Now() - start < absl::Seconds(10)) {
      if (seen()) {
        std::cout << "seen after " << absl::ToDoubleMilliseconds(absl::Now() - start) << " ms\n";
        return true;
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
    return false;
  }

  static double Hits(runtime::ServiceHost& host) {
    httplib::Client ops("127.0.0.1", host.ops_port());
    auto res = ops.Get("/metrics");
    if (!res || res->status != 200) return -1;
    for (absl::string_view line : absl::StrSplit(res->body, '\n')) {
      if (absl::StartsWith(line, "dorset_response_cache_hits_total{cache=\"engagement\"}")) {
        double value = 0;
        if (absl::SimpleAtod(line.substr(line.rfind(' ') + 1), &value)) return value;
      }
    }
    return -1;
  }

  bool postgres_ = false;
  dorset::testing::TempDir tokens_;
  dorset::testing::TempDir dir_a_;
  dorset::testing::TempDir dir_b_;
  EngagementServer a_;
  EngagementServer b_;
};

TEST_F(ReplyCacheTest, RepeatedReadsComeFromTheCacheAndEveryWriteIsInTheNextOne) {
  testing::MakeActivity(*writer().stub, "cached", kEditor);
  testing::MakeTheme(*writer().stub, "cached", "access", kEditor);
  ASSERT_TRUE(Eventually([&] { return Activity(a_).name() == "activities/cached"; }));

  // Repeated reads: the same bytes, from the cache.
  const v1::Activity first = Activity(a_);
  const v1::ActivityAggregates first_aggregates = Aggregates(a_);
  const double hits = Hits(*a_.host);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(Activity(a_).SerializeAsString(), first.SerializeAsString());
    EXPECT_EQ(Aggregates(a_).SerializeAsString(), first_aggregates.SerializeAsString());
  }
  EXPECT_GE(Hits(*a_.host), hits + 8);

  // A kept reply is still only for callers who may read it.
  {
    v1::GetActivityRequest request;
    request.set_name("activities/cached");
    v1::Activity out;
    EXPECT_EQ(a_.stub->GetActivity(Ctx(kFinance).get(), request, &out).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(out.name(), "");
    v1::GetActivityAggregatesRequest aggregates;
    aggregates.set_name("activities/cached/aggregates");
    v1::ActivityAggregates counts;
    EXPECT_EQ(a_.stub->GetActivityAggregates(Ctx(kFinance).get(), aggregates, &counts).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(counts.name(), "");
  }

  // An edit (EngagementStore::Write).
  {
    v1::UpdateActivityRequest update;
    update.mutable_activity()->set_name("activities/cached");
    update.mutable_activity()->set_title("Changed title");
    update.mutable_update_mask()->add_paths("title");
    v1::Activity out;
    grpc::Status status = writer().stub->UpdateActivity(Ctx(kEditor).get(), update, &out);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_EQ(Activity(writer()).title(), "Changed title");  // at once where it was written
  EXPECT_TRUE(Eventually([&] { return Activity(a_).title() == "Changed title"; }));

  // Its opening.
  ASSERT_TRUE(testing::Open(*writer().stub, "cached", kEditor).ok());
  EXPECT_EQ(Activity(writer()).state(), v1::ACTIVITY_STATE_OPEN);
  EXPECT_TRUE(Eventually([&] { return Activity(a_).state() == v1::ACTIVITY_STATE_OPEN; }));

  // A response (the group committer's transaction), in the counts of the next aggregates.
  EXPECT_EQ(Aggregates(a_).total_responses(), 0);
  v1::Response response;
  ASSERT_TRUE(
      testing::Respond(*writer().stub, "cached",
                       testing::ResponseOf(v1::CHANNEL_ONLINE, v1::SENTIMENT_OPPOSED,
                                           "localities/north", {"activities/cached/themes/access"}),
                       &response, kEditor, "cache-1")
          .ok());
  EXPECT_EQ(Aggregates(writer()).total_responses(), 1);
  EXPECT_TRUE(Eventually([&] { return Aggregates(a_).total_responses() == 1; }));
  const v1::ActivityAggregates after = Aggregates(a_);
  ASSERT_EQ(after.by_locality_size(), 1);
  EXPECT_EQ(after.by_locality(0).key(), "localities/north");
  ASSERT_EQ(after.participation_size(), 1);
  EXPECT_EQ(after.participation(0).responses(), 1);
}

}  // namespace
}  // namespace dorset::engagement
