// `dorset-store copy --service engagement` (docs/storage.md, the copy tool), with the real
// binaries: an engagement store on SQLite filled through the API (the seed, an activity with
// themes, a stakeholder and responses, some with request ids) is copied to PostgreSQL by the
// real dorset-store, verified (the response counters behind the aggregates, responses per
// activity, the highest response id), and the real dorset-engagement started on the copy serves
// the same activities, themes, stakeholders, responses and aggregates through gRPC as one started
// on the source, answers a retried request id with the first reply and numbers a new response
// after the copied ones. A re-run writes nothing; a target holding other data is refused naming
// why; PostgreSQL → SQLite and SQLite → SQLite copies come back equal to the source.
#include <sys/wait.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "runtime/testing/postgres_server.h"
#include "runtime/testing/redis_server.h"  // FreePort
#include "runtime/testing/server_process.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_host.h"
#include "tests/engagement/engagement_test_util.h"
#include "tests/runtime/storage/engines.h"

namespace dorset::engagement::testing {
namespace {

using dorset::testing::FreePort;
using dorset::testing::LocalChannel;
using dorset::testing::ServerProcess;
using dorset::testing::TempDir;

constexpr int kResponses = 20;

// Runs the real dorset-store; returns its exit code and puts stdout+stderr in `output`.
int RunStore(const std::string& args, std::string& output) {
  const std::string command = absl::StrCat(DORSET_STORE_BINARY, " ", args, " 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  output.clear();
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string Copy(const std::string& from, const std::string& to) {
  return absl::StrCat("copy --service engagement --from ", from, " --to ", to);
}

v1::Response Nth(int i, const std::vector<std::string>& themes) {
  static const v1::Sentiment kSentiments[] = {v1::SENTIMENT_SUPPORTIVE, v1::SENTIMENT_OPPOSED,
                                              v1::SENTIMENT_NEUTRAL};
  static const v1::Channel kChannels[] = {v1::CHANNEL_ONLINE, v1::CHANNEL_LETTER,
                                          v1::CHANNEL_PHONE};
  return ResponseOf(kChannels[i % 3], kSentiments[i % 3],
                    i % 2 == 0 ? "localities/north" : "localities/south", {themes[i % 2]},
                    absl::StrCat("view ", i));
}

// An engagement store on SQLite under `dir`, filled through the API (the in-process host writes
// the seed on start); response i is created with request id "copy-response-<i>".
void Fill(const std::string& dir) {
  EngagementServer server;
  ASSERT_NO_FATAL_FAILURE(server.Start(dorset::testing::TestServerConfig("engagement", dir)));
  v1::EngagementService::Stub& stub = *server.stub;
  MakeActivity(stub, "copy");
  const std::vector<std::string> themes = {MakeTheme(stub, "copy", "access").name(),
                                           MakeTheme(stub, "copy", "cost").name()};
  ASSERT_TRUE(Open(stub, "copy").ok());
  v1::CreateStakeholderRequest stakeholder;
  stakeholder.mutable_stakeholder()->set_kind(v1::STAKEHOLDER_KIND_PATIENT_GROUP);
  stakeholder.mutable_stakeholder()->set_organisation("Example PPG");
  stakeholder.set_request_id("copy-stakeholder");
  v1::Stakeholder created;
  grpc::Status status = stub.CreateStakeholder(Ctx().get(), stakeholder, &created);
  ASSERT_TRUE(status.ok()) << status.error_message();
  for (int i = 0; i < kResponses; ++i) {
    v1::Response out;
    status = Respond(stub, "copy", Nth(i, themes), &out, "", absl::StrCat("copy-response-", i));
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
}

template <typename Item, typename Request, typename Response, typename Call, typename ItemsOf>
void ListAll(Request request, Call call, ItemsOf items_of, std::vector<Item>& out) {
  while (true) {
    Response response;
    grpc::Status status = call(Ctx().get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    for (const Item& item : items_of(response)) out.push_back(item);
    if (response.next_page_token().empty()) return;
    request.set_page_token(response.next_page_token());
  }
}

// What a client reads back (page tokens left out: they are signed per process).
struct Served {
  std::vector<v1::Activity> activities;
  std::vector<v1::Theme> themes;
  std::vector<v1::Stakeholder> stakeholders;
  std::vector<v1::Response> responses;
  v1::ActivityAggregates aggregates;
};

Served Read(v1::EngagementService::Stub& stub) {
  Served served;
  v1::ListActivitiesRequest activities;
  activities.set_page_size(100);
  ListAll<v1::Activity, v1::ListActivitiesRequest, v1::ListActivitiesResponse>(
      activities, [&](auto* c, auto& rq, auto* rs) { return stub.ListActivities(c, rq, rs); },
      [](const auto& r) { return r.activities(); }, served.activities);
  v1::ListThemesRequest themes;
  themes.set_parent("activities/copy");
  ListAll<v1::Theme, v1::ListThemesRequest, v1::ListThemesResponse>(
      themes, [&](auto* c, auto& rq, auto* rs) { return stub.ListThemes(c, rq, rs); },
      [](const auto& r) { return r.themes(); }, served.themes);
  v1::ListStakeholdersRequest stakeholders;
  ListAll<v1::Stakeholder, v1::ListStakeholdersRequest, v1::ListStakeholdersResponse>(
      stakeholders, [&](auto* c, auto& rq, auto* rs) { return stub.ListStakeholders(c, rq, rs); },
      [](const auto& r) { return r.stakeholders(); }, served.stakeholders);
  v1::ListResponsesRequest responses;
  responses.set_parent("activities/copy");
  responses.set_page_size(7);  // a few pages
  ListAll<v1::Response, v1::ListResponsesRequest, v1::ListResponsesResponse>(
      responses, [&](auto* c, auto& rq, auto* rs) { return stub.ListResponses(c, rq, rs); },
      [](const auto& r) { return r.responses(); }, served.responses);
  v1::GetActivityAggregatesRequest aggregates;
  aggregates.set_name("activities/copy/aggregates");
  grpc::Status status = stub.GetActivityAggregates(Ctx().get(), aggregates, &served.aggregates);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return served;
}

template <typename Message>
void ExpectSame(const std::vector<Message>& a, const std::vector<Message>& b, const char* what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(a[i], b[i]))
        << what << " " << i << ":\n"
        << a[i].DebugString() << "vs\n"
        << b[i].DebugString();
  }
}

void ExpectSameServed(const Served& a, const Served& b) {
  ExpectSame(a.activities, b.activities, "activity");
  ExpectSame(a.themes, b.themes, "theme");
  ExpectSame(a.stakeholders, b.stakeholders, "stakeholder");
  ExpectSame(a.responses, b.responses, "response");
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(a.aggregates, b.aggregates))
      << a.aggregates.DebugString() << "vs\n"
      << b.aggregates.DebugString();
}

// The real dorset-engagement on `database`, ready.
struct Service {
  Service(const std::string& data_dir, const std::string& database)
      : process(DORSET_ENGAGEMENT_BINARY, data_dir, FreePort(), database),
        stub(v1::EngagementService::NewStub(LocalChannel(process.port()))) {
    ready = process.WaitReady([&] {
      auto context = Ctx();
      context->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
      v1::ListActivitiesResponse response;
      return stub->ListActivities(context.get(), v1::ListActivitiesRequest(), &response).ok();
    });
  }
  ServerProcess process;
  std::unique_ptr<v1::EngagementService::Stub> stub;
  bool ready = false;
};

TEST(EngagementStoreCopyPostgres, TheCopyServesTheSameThroughTheRealServiceAndRerunsSafely) {
  DORSET_REQUIRE_POSTGRES(dorset::testing::PostgresServer::Shared(), pg);
  TempDir source_dir, pg_dir, back_dir;
  ASSERT_NO_FATAL_FAILURE(Fill(source_dir.path()));
  const std::string source = "sqlite://" + source_dir.path() + "/engagement.db";
  auto target = pg->CreateDatabase();
  ASSERT_TRUE(target.ok()) << target.status();

  std::string out;
  ASSERT_EQ(RunStore(Copy(source, *target), out), 0) << out;
  std::cout << out << std::flush;  // the report, for the test log (flushed before any fork)
  EXPECT_NE(out.find("verified"), std::string::npos) << out;
  EXPECT_NE(out.find("table response: 20 rows in source, 20 in target"), std::string::npos) << out;
  EXPECT_NE(out.find("check response counters per activity and dimension: equal"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("check highest response id: equal (1 rows: 20)"), std::string::npos) << out;

  Served from_source;
  {
    Service service(source_dir.path(), source);
    ASSERT_TRUE(service.ready);
    from_source = Read(*service.stub);
  }
  ASSERT_EQ(from_source.responses.size(), static_cast<size_t>(kResponses));
  ASSERT_EQ(from_source.aggregates.total_responses(), kResponses);
  ASSERT_EQ(from_source.activities.size(), 2u);  // the seed's and ours
  ASSERT_EQ(from_source.stakeholders.size(), 1u);
  {
    Service service(pg_dir.path(), *target);
    ASSERT_TRUE(service.ready);
    ExpectSameServed(Read(*service.stub), from_source);
  }

  // A re-run finds exactly the copy: nothing written, verified again.
  ASSERT_EQ(RunStore(Copy(source, *target), out), 0) << out;
  EXPECT_NE(out.find("nothing written"), std::string::npos) << out;
  // PostgreSQL → SQLite holds exactly the source.
  const std::string back = "sqlite://" + back_dir.path() + "/engagement.db";
  ASSERT_EQ(RunStore(Copy(*target, back), out), 0) << out;
  ASSERT_EQ(RunStore(Copy(source, back), out), 0) << out;
  EXPECT_NE(out.find("nothing written"), std::string::npos) << out;

  {
    Service service(pg_dir.path(), *target);
    ASSERT_TRUE(service.ready);
    // A retried request id is answered from the copied record with the first reply.
    const std::vector<std::string> themes = {from_source.themes[0].name(),
                                             from_source.themes[1].name()};
    v1::Response replied;
    grpc::Status status =
        Respond(*service.stub, "copy", Nth(3, themes), &replied, "", "copy-response-3");
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(replied.name(), from_source.responses[3].name());
    // A new response is numbered after the copied ones. On PostgreSQL a group takes its ids from
    // the table's sequence before it knows which requests are replays, so the retry above may
    // have used one: the id is past the copied ones, not necessarily the next.
    v1::Response fresh;
    status = Respond(*service.stub, "copy", Nth(0, themes), &fresh);
    ASSERT_TRUE(status.ok()) << status.error_message();
    int64_t fresh_id = 0;
    ASSERT_TRUE(
        absl::SimpleAtoi(absl::StripPrefix(fresh.name(), "activities/copy/responses/"), &fresh_id))
        << fresh.name();
    EXPECT_GT(fresh_id, kResponses) << fresh.name();
  }

  // The target now holds other data than the source: refused, naming why.
  ASSERT_EQ(RunStore(Copy(source, *target), out), 1) << out;
  EXPECT_NE(out.find("FAILED_PRECONDITION: the target already holds other engagement data "
                     "(table response: 21 rows there, 20 in the source)"),
            std::string::npos)
      << out;
}

TEST(EngagementStoreCopyTool, SqliteToSqliteVerifiesAndRefusesADifferentTarget) {
  TempDir source_dir, copy_dir, other_dir;
  ASSERT_NO_FATAL_FAILURE(Fill(source_dir.path()));
  {
    // Another store: the seed only.
    EngagementServer other;
    ASSERT_NO_FATAL_FAILURE(
        other.Start(dorset::testing::TestServerConfig("engagement", other_dir.path())));
  }
  const std::string source = "sqlite://" + source_dir.path() + "/engagement.db";
  const std::string copy = "sqlite://" + copy_dir.path() + "/engagement.db";
  std::string out;
  ASSERT_EQ(RunStore(Copy(source, copy), out), 0) << out;
  EXPECT_NE(out.find("verified"), std::string::npos) << out;
  ASSERT_EQ(RunStore(Copy(source, copy), out), 0) << out;
  EXPECT_NE(out.find("nothing written"), std::string::npos) << out;
  ASSERT_EQ(RunStore(Copy(source, "sqlite://" + other_dir.path() + "/engagement.db"), out), 1)
      << out;
  EXPECT_NE(out.find("the target already holds other engagement data"), std::string::npos) << out;

  Served from_source;
  {
    Service service(source_dir.path(), source);
    ASSERT_TRUE(service.ready);
    from_source = Read(*service.stub);
  }
  Service service(copy_dir.path(), copy);
  ASSERT_TRUE(service.ready);
  ExpectSameServed(Read(*service.stub), from_source);
}

}  // namespace
}  // namespace dorset::engagement::testing
