// GetActivity and GetActivityAggregates answered from replies kept per store generation (issue 16:
// runtime/server/cached_unary.h, EngagementStore::generation, runtime/storage/data_version.h). A
// repeated read is served from the cache (its metrics say so) and still admits every caller (one
// without engagement.read is refused after the reply was kept); the next read after any
// acknowledged write — an activity edit, its opening, a response through the group committer —
// shows it at once on the replica that wrote; another replica on the same PostgreSQL database
// shows it as soon as the commit's notification reaches its DataVersionFollower (the test allows
// 10 s and prints the delay). Both engines (SQLite: one replica, its own writes).
#include <httplib.h>

#include <atomic>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "services/engagement/domain/counters.h"
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

  // The aggregates `server` serves equal the counts of the responses it lists (the counters
  // recounted from the responses themselves).
  void ExpectCountsOfResponses(EngagementServer& server) {
    v1::ListResponsesRequest list;
    list.set_parent("activities/cached");
    list.set_page_size(1000);
    v1::ListResponsesResponse responses;
    grpc::Status status = server.stub->ListResponses(Ctx(kEditor).get(), list, &responses);
    ASSERT_TRUE(status.ok()) << status.error_message();
    std::map<std::string, int64_t> theme, sentiment, channel, locality;
    for (const v1::Response& r : responses.responses()) {
      for (const std::string& t : r.themes()) ++theme[t];
      ++sentiment[SentimentKey(r.sentiment())];
      ++channel[ChannelKey(r.channel())];
      ++locality[r.locality()];
    }
    auto counts = [](const google::protobuf::RepeatedPtrField<v1::Count>& served) {
      std::map<std::string, int64_t> out;
      for (const v1::Count& c : served) out[c.key()] = c.responses();
      return out;
    };
    const v1::ActivityAggregates served = Aggregates(server);
    EXPECT_EQ(served.name(), "activities/cached/aggregates");
    EXPECT_EQ(served.total_responses(), responses.responses_size());
    EXPECT_EQ(counts(served.by_theme()), theme);
    EXPECT_EQ(counts(served.by_sentiment()), sentiment);
    EXPECT_EQ(counts(served.by_channel()), channel);
    EXPECT_EQ(counts(served.by_locality()), locality);
    std::map<std::string, int64_t> participation;
    for (const v1::LocalityParticipation& p : served.participation()) {
      participation[p.locality()] = p.responses();
    }
    locality.erase("");  // counted, but no locality to participate in
    EXPECT_EQ(participation, locality);
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

// A group of responses brings the kept counts up to date itself (Aggregates::ApplyGroup) and
// leaves the kept activity as it is; every other write that moves the counts (an edit of a
// response) is in the next aggregates too. After each acknowledged write, the aggregates served
// where it was written equal the counts of the responses listed; and with writers and readers
// at once, each read holds at least the responses acknowledged before it started.
TEST_F(ReplyCacheTest, KeptCountsFollowEveryAcknowledgedWrite) {
  EngagementServer& w = writer();
  testing::MakeActivity(*w.stub, "cached", kEditor);
  for (const char* theme : {"access", "cost"})
    testing::MakeTheme(*w.stub, "cached", theme, kEditor);
  ASSERT_TRUE(testing::Open(*w.stub, "cached", kEditor).ok());
  const v1::Activity activity = Activity(w);
  ExpectCountsOfResponses(w);  // kept from here: no responses yet

  const std::string access = "activities/cached/themes/access";
  const std::string cost = "activities/cached/themes/cost";
  v1::Response first;
  for (int i = 0; i < 6; ++i) {
    v1::Response r = testing::ResponseOf(
        i % 2 == 0 ? v1::CHANNEL_ONLINE : v1::CHANNEL_LETTER,
        i % 3 == 0 ? v1::SENTIMENT_OPPOSED : v1::SENTIMENT_SUPPORTIVE,
        i % 3 == 0 ? "localities/north" : (i % 3 == 1 ? "localities/south" : ""), {});
    if (i % 3 != 1) r.add_themes(access);
    if (i % 3 != 0) r.add_themes(cost);
    v1::Response out;
    ASSERT_TRUE(
        testing::Respond(*w.stub, "cached", r, &out, kEditor, absl::StrCat("live-", i)).ok());
    if (i == 0) first = out;
    ExpectCountsOfResponses(w);
    // The same activity, whatever the responses.
    EXPECT_EQ(Activity(w).SerializeAsString(), activity.SerializeAsString());
  }
  // A repeated request_id and a refused response change nothing.
  {
    v1::Response out;
    ASSERT_TRUE(testing::Respond(*w.stub, "cached",
                                 testing::ResponseOf(v1::CHANNEL_ONLINE, v1::SENTIMENT_OPPOSED,
                                                     "localities/north", {access}),
                                 &out, kEditor, "live-0")
                    .ok());
    EXPECT_EQ(out.name(), first.name());
    EXPECT_FALSE(
        testing::Respond(*w.stub, "cached",
                         testing::ResponseOf(v1::CHANNEL_ONLINE, v1::SENTIMENT_OPPOSED,
                                             "localities/north", {"activities/cached/themes/none"}),
                         &out, kEditor, "live-refused")
            .ok());
    ExpectCountsOfResponses(w);
  }
  // An edit of a response (EngagementStore::Write, not the group committer), then more groups.
  {
    v1::UpdateResponseRequest update;
    update.mutable_response()->set_name(first.name());
    update.mutable_response()->set_etag(first.etag());
    update.mutable_response()->add_themes(cost);
    update.mutable_response()->set_sentiment(v1::SENTIMENT_SUPPORTIVE);
    update.mutable_update_mask()->add_paths("themes");
    update.mutable_update_mask()->add_paths("sentiment");
    v1::Response out;
    grpc::Status status = w.stub->UpdateResponse(Ctx(kEditor).get(), update, &out);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ExpectCountsOfResponses(w);
    ASSERT_TRUE(testing::Respond(*w.stub, "cached",
                                 testing::ResponseOf(v1::CHANNEL_PHONE, v1::SENTIMENT_OPPOSED,
                                                     "localities/east", {cost}),
                                 &out, kEditor, "live-after-edit")
                    .ok());
    ExpectCountsOfResponses(w);
  }

  // Writers and readers at once: a read holds every response acknowledged before it started.
  const int before = Aggregates(w).total_responses();
  std::atomic<int> acknowledged{0};
  std::atomic<bool> writing{true};
  std::atomic<int> short_reads{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        v1::Response out;
        const grpc::Status status =
            testing::Respond(*w.stub, "cached",
                             testing::ResponseOf(v1::CHANNEL_ONLINE, v1::SENTIMENT_NEUTRAL,
                                                 absl::StrCat("localities/l", t), {access}),
                             &out, kEditor, absl::StrCat("live-", t, "-", i));
        EXPECT_TRUE(status.ok()) << status.error_message();
        const int mine = acknowledged.fetch_add(1) + 1;
        if (Aggregates(w).total_responses() < before + mine) ++short_reads;
      }
    });
  }
  std::thread reader([&] {
    while (writing.load()) {
      const int seen = acknowledged.load();
      if (Aggregates(w).total_responses() < before + seen) ++short_reads;
    }
  });
  for (std::thread& t : threads) t.join();
  writing = false;
  reader.join();
  EXPECT_EQ(short_reads.load(), 0);
  ExpectCountsOfResponses(w);
  EXPECT_EQ(Aggregates(w).total_responses(), before + 40);
}

}  // namespace
}  // namespace dorset::engagement
