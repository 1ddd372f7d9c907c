// Responses: aggregates against a hand-counted example, moderation keeping counts right,
// request-id idempotency under concurrency (group commit), pagination, export, "you said, we did".
#include <httplib.h>

#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "runtime/audit/audit_log.h"
#include "tests/engagement/engagement_test_util.h"

namespace dorset::engagement::testing {
namespace {

using ::grpc::StatusCode;
using Counts = std::map<std::string, int64_t>;

Counts ToMap(const google::protobuf::RepeatedPtrField<v1::Count>& counts) {
  Counts out;
  for (const auto& c : counts) out[c.key()] = c.responses();
  return out;
}

class ResponsesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Start(dorset::testing::TestServerConfig("engagement", dir_.path()));
  }
  v1::EngagementService::Stub& stub() { return *server_.stub; }

  v1::ActivityAggregates Aggregates(const std::string& id) {
    v1::GetActivityAggregatesRequest request;
    request.set_name("activities/" + id + "/aggregates");
    v1::ActivityAggregates out;
    grpc::Status status = stub().GetActivityAggregates(Ctx().get(), request, &out);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return out;
  }

  dorset::testing::TempDir dir_;
  EngagementServer server_;
};

TEST_F(ResponsesTest, AggregatesMatchAHandCountedExample) {
  MakeActivity(stub(), "agg");
  const std::string access = MakeTheme(stub(), "agg", "access").name();
  const std::string cost = MakeTheme(stub(), "agg", "cost").name();
  ASSERT_TRUE(Open(stub(), "agg").ok());
  const v1::Response responses[] = {
      ResponseOf(v1::CHANNEL_ONLINE, v1::SENTIMENT_SUPPORTIVE, "localities/north", {access}),
      ResponseOf(v1::CHANNEL_ONLINE, v1::SENTIMENT_OPPOSED, "localities/north", {access, cost}),
      ResponseOf(v1::CHANNEL_LETTER, v1::SENTIMENT_OPPOSED, "localities/south", {cost}),
      ResponseOf(v1::CHANNEL_PHONE, v1::SENTIMENT_NEUTRAL, "", {}),
      ResponseOf(v1::CHANNEL_EVENT, v1::SENTIMENT_OPPOSED, "localities/south", {access}),
  };
  std::vector<std::string> names;
  for (const auto& r : responses) {
    v1::Response out;
    grpc::Status status = Respond(stub(), "agg", r, &out);
    ASSERT_TRUE(status.ok()) << status.error_message();
    names.push_back(out.name());
  }
  // By hand: access 1,2,5; cost 2,3; OPPOSED 2,3,5; ONLINE 1,2; north 1,2; south 3,5; none 4.
  v1::ActivityAggregates a = Aggregates("agg");
  EXPECT_EQ(a.total_responses(), 5);
  EXPECT_EQ(ToMap(a.by_theme()), (Counts{{access, 3}, {cost, 2}}));
  EXPECT_EQ(ToMap(a.by_sentiment()), (Counts{{"SUPPORTIVE", 1}, {"OPPOSED", 3}, {"NEUTRAL", 1}}));
  EXPECT_EQ(ToMap(a.by_channel()),
            (Counts{{"ONLINE", 2}, {"LETTER", 1}, {"PHONE", 1}, {"EVENT", 1}}));
  EXPECT_EQ(ToMap(a.by_locality()),
            (Counts{{"localities/north", 2}, {"localities/south", 2}, {"", 1}}));
  ASSERT_EQ(a.participation_size(), 2);
  EXPECT_EQ(a.participation(0).locality(), "localities/north");
  EXPECT_EQ(a.participation(0).responses(), 2);

  // Moderation: response 4 gets theme "cost" and becomes SUPPORTIVE; counts follow.
  v1::UpdateResponseRequest update;
  update.mutable_response()->set_name(names[3]);
  update.mutable_response()->add_themes(cost);
  update.mutable_response()->set_sentiment(v1::SENTIMENT_SUPPORTIVE);
  update.mutable_update_mask()->add_paths("themes");
  update.mutable_update_mask()->add_paths("sentiment");
  v1::Response moderated;
  ASSERT_TRUE(stub().UpdateResponse(Ctx().get(), update, &moderated).ok());
  a = Aggregates("agg");
  EXPECT_EQ(a.total_responses(), 5);
  EXPECT_EQ(ToMap(a.by_theme()), (Counts{{access, 3}, {cost, 3}}));
  EXPECT_EQ(ToMap(a.by_sentiment()), (Counts{{"SUPPORTIVE", 2}, {"OPPOSED", 3}}));

  // "You said, we did" needs a published outcome.
  v1::GetYouSaidWeDidRequest ysw_request;
  ysw_request.set_name("activities/agg/youSaidWeDid");
  v1::YouSaidWeDid ysw;
  EXPECT_EQ(stub().GetYouSaidWeDid(Ctx().get(), ysw_request, &ysw).error_code(),
            StatusCode::FAILED_PRECONDITION);
  v1::CloseActivityRequest close;
  close.set_name("activities/agg");
  v1::Activity activity;
  ASSERT_TRUE(stub().CloseActivity(Ctx().get(), close, &activity).ok());
  v1::CreateDecisionRequest decision;
  decision.set_parent("activities/agg");
  decision.set_decision_id("fund-transport");
  decision.mutable_decision()->set_summary("Fund community transport");
  decision.mutable_decision()->set_rationale("Cost of travel was raised most");
  decision.mutable_decision()->add_themes(cost);
  decision.mutable_decision()->add_responses(names[2]);
  decision.mutable_decision()->set_decided_by("Governing body");
  decision.mutable_decision()->set_published(true);
  v1::Decision made;
  ASSERT_TRUE(stub().CreateDecision(Ctx().get(), decision, &made).ok());
  decision.set_decision_id("draft-idea");
  decision.mutable_decision()->set_published(false);
  ASSERT_TRUE(stub().CreateDecision(Ctx().get(), decision, &made).ok());
  decision.set_decision_id("bad-ref");
  decision.mutable_decision()->clear_themes();
  decision.mutable_decision()->add_themes("activities/agg/themes/nope");
  EXPECT_EQ(stub().CreateDecision(Ctx().get(), decision, &made).error_code(),
            StatusCode::INVALID_ARGUMENT);
  v1::PublishOutcomeRequest publish;
  publish.set_name("activities/agg");
  publish.set_outcome_summary("We will fund transport.");
  ASSERT_TRUE(stub().PublishOutcome(Ctx().get(), publish, &activity).ok());
  ASSERT_TRUE(stub().GetYouSaidWeDid(Ctx().get(), ysw_request, &ysw).ok());
  EXPECT_EQ(ysw.total_responses(), 5);
  ASSERT_EQ(ysw.themes_size(), 2);
  EXPECT_EQ(ysw.themes(0).theme().name(), access);
  EXPECT_EQ(ysw.themes(0).responses(), 3);
  EXPECT_EQ(ysw.themes(0).decisions_size(), 0);
  EXPECT_EQ(ysw.themes(1).theme().name(), cost);
  EXPECT_EQ(ysw.themes(1).responses(), 3);
  EXPECT_EQ(ToMap(ysw.themes(1).by_sentiment()), (Counts{{"OPPOSED", 2}, {"SUPPORTIVE", 1}}));
  ASSERT_EQ(ysw.themes(1).decisions_size(), 1);  // the unpublished one is not shown
  EXPECT_EQ(ysw.themes(1).decisions(0).name(), "activities/agg/decisions/fund-transport");
}

TEST_F(ResponsesTest, RefusesMalformedResponsesNamingTheField) {
  MakeActivity(stub(), "bad");
  MakeTheme(stub(), "bad", "t");
  ASSERT_TRUE(Open(stub(), "bad").ok());
  v1::Response out;
  v1::Response r = ResponseOf(v1::CHANNEL_UNSPECIFIED, v1::SENTIMENT_NEUTRAL, "", {}, "x");
  grpc::Status status = Respond(stub(), "bad", r, &out);
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  r = ResponseOf(v1::CHANNEL_ONLINE, v1::SENTIMENT_NEUTRAL, "", {"activities/other/themes/t"});
  EXPECT_EQ(Respond(stub(), "bad", r, &out).error_code(), StatusCode::INVALID_ARGUMENT);
  r = ResponseOf(v1::CHANNEL_ONLINE, v1::SENTIMENT_NEUTRAL, "", {"activities/bad/themes/missing"});
  EXPECT_EQ(Respond(stub(), "bad", r, &out).error_code(), StatusCode::INVALID_ARGUMENT);
  r = ResponseOf(v1::CHANNEL_ONLINE, v1::SENTIMENT_NEUTRAL, "nowhere", {});
  EXPECT_EQ(Respond(stub(), "bad", r, &out).error_code(), StatusCode::INVALID_ARGUMENT);
  r = ResponseOf(v1::CHANNEL_ONLINE, v1::SENTIMENT_NEUTRAL, "", {});
  r.set_stakeholder("stakeholders/nobody");
  EXPECT_EQ(Respond(stub(), "bad", r, &out).error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Respond(stub(), "missing",
                    ResponseOf(v1::CHANNEL_ONLINE, v1::SENTIMENT_NEUTRAL, "", {}), &out)
                .error_code(),
            StatusCode::NOT_FOUND);
  // Nothing refused was counted.
  v1::GetActivityAggregatesRequest request;
  request.set_name("activities/bad/aggregates");
  v1::ActivityAggregates a;
  ASSERT_TRUE(stub().GetActivityAggregates(Ctx().get(), request, &a).ok());
  EXPECT_EQ(a.total_responses(), 0);
}

TEST_F(ResponsesTest, ConcurrentCreatesAreGroupCommittedAndRequestIdsHappenOnce) {
  MakeActivity(stub(), "busy");
  ASSERT_TRUE(Open(stub(), "busy").ok());
  constexpr int kThreads = 32, kEach = 10;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  std::vector<std::string> dup_names(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        v1::Response out;
        if (!Respond(stub(), "busy", ResponseOf(v1::CHANNEL_ONLINE, v1::SENTIMENT_NEUTRAL, "", {}),
                     &out, "", "req-" + std::to_string(t) + "-" + std::to_string(i))
                 .ok()) {
          ++failures;
        }
      }
      // A response refused inside the writer (the theme does not exist) shares batches with the
      // others without disturbing them.
      v1::Response refused;
      if (Respond(stub(), "busy",
                  ResponseOf(v1::CHANNEL_PHONE, v1::SENTIMENT_NEUTRAL, "",
                             {"activities/busy/themes/ghost"}),
                  &refused)
              .error_code() != StatusCode::INVALID_ARGUMENT) {
        ++failures;
      }
      // Every thread also sends the SAME request id: one response in all.
      v1::Response out;
      if (!Respond(stub(), "busy", ResponseOf(v1::CHANNEL_LETTER, v1::SENTIMENT_NEUTRAL, "", {}),
                   &out, "", "shared-request")
               .ok()) {
        ++failures;
      }
      dup_names[t] = out.name();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  for (const auto& name : dup_names) EXPECT_EQ(name, dup_names[0]);
  v1::GetActivityAggregatesRequest request;
  request.set_name("activities/busy/aggregates");
  v1::ActivityAggregates a;
  ASSERT_TRUE(stub().GetActivityAggregates(Ctx().get(), request, &a).ok());
  EXPECT_EQ(a.total_responses(), kThreads * kEach + 1);
  EXPECT_EQ(ToMap(a.by_channel()), (Counts{{"ONLINE", kThreads * kEach}, {"LETTER", 1}}));
  EXPECT_TRUE(a.by_theme().empty());
  // Every acknowledged create went through the writer: the one new row for the shared request id
  // is counted once, its 31 repeats are acknowledged too (they answer with the first row).
  httplib::Client ops("127.0.0.1", server_.host->ops_port());
  auto metrics = ops.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_THAT(metrics->body, ::testing::HasSubstr(absl::StrCat(
                                 "engagement_responses_committed_total ", kThreads * (kEach + 1))));
  EXPECT_THAT(metrics->body, ::testing::HasSubstr("engagement_response_batch_size_bucket"));
}

// A retried CreateResponse is answered with its first response in a later group, even when its
// checks would now refuse it as a new one (the activity closed since), and after a restart; the
// response is written once. On SQLite the writer takes requests for new without a lookup and runs
// a group again with lookups when one was seen before (runtime/storage/idempotency.h).
TEST_F(ResponsesTest, ARetryIsAnsweredWithItsFirstResponseInALaterGroupAndAfterARestart) {
  MakeActivity(stub(), "retried");
  ASSERT_TRUE(Open(stub(), "retried").ok());
  const v1::Response asked = ResponseOf(v1::CHANNEL_EVENT, v1::SENTIMENT_SUPPORTIVE, "", {});
  v1::Response first, again;
  ASSERT_TRUE(Respond(stub(), "retried", asked, &first, "", "retry-me").ok());
  ASSERT_TRUE(Respond(stub(), "retried", asked, &again, "", "retry-me").ok());
  EXPECT_EQ(again.name(), first.name());
  v1::CloseActivityRequest close;
  close.set_name("activities/retried");
  v1::Activity closed;
  ASSERT_TRUE(stub().CloseActivity(Ctx().get(), close, &closed).ok());
  v1::Response new_one;
  EXPECT_EQ(Respond(stub(), "retried", asked, &new_one, "", "too-late").error_code(),
            StatusCode::FAILED_PRECONDITION);
  v1::Response after_close;
  grpc::Status retried = Respond(stub(), "retried", asked, &after_close, "", "retry-me");
  ASSERT_TRUE(retried.ok()) << retried.error_message();
  EXPECT_EQ(after_close.name(), first.name());

  server_.host->Shutdown();
  server_.host.reset();
  server_.Start(dorset::testing::TestServerConfig("engagement", dir_.path()));
  v1::Response after_restart;
  retried = Respond(stub(), "retried", asked, &after_restart, "", "retry-me");
  ASSERT_TRUE(retried.ok()) << retried.error_message();
  EXPECT_EQ(after_restart.name(), first.name());
  EXPECT_EQ(after_restart.channel(), v1::CHANNEL_EVENT);
  EXPECT_EQ(Aggregates("retried").total_responses(), 1);
}

// A response's audit event is written in its group's transaction (the audit outbox, as a row
// that views the call's own strings): who, the method, the activity it answers (the request's
// parent names the resource, so the reply is not consulted: no response id, as before the row
// form), the call's request id and the outcome; one refused in the writer (no such theme) too.
TEST_F(ResponsesTest, AResponsesAuditEventNamesItsActivityAndOutcome) {
  MakeActivity(stub(), "aud");
  ASSERT_TRUE(Open(stub(), "aud").ok());
  v1::Response created;
  ASSERT_TRUE(Respond(stub(), "aud", ResponseOf(v1::CHANNEL_ONLINE, v1::SENTIMENT_NEUTRAL, "", {}),
                      &created, "", "aud-ok")
                  .ok());
  ASSERT_FALSE(created.name().empty());
  v1::Response refused;
  EXPECT_EQ(Respond(stub(), "aud",
                    ResponseOf(v1::CHANNEL_PHONE, v1::SENTIMENT_NEUTRAL, "",
                               {"activities/aud/themes/ghost"}),
                    &refused, "", "aud-refused")
                .error_code(),
            StatusCode::INVALID_ARGUMENT);
  ASSERT_TRUE(server_.host->audit().Flush());
  common::v1::ListAuditEventsRequest request;
  request.set_page_size(1000);
  absl::StatusOr<common::v1::ListAuditEventsResponse> trail = server_.host->audit().List(request);
  ASSERT_TRUE(trail.ok()) << trail.status();
  std::vector<std::string> responses;
  std::set<std::string> request_ids;
  for (const common::v1::AuditEvent& e : trail->events()) {
    if (e.method() != "/dorset.engagement.v1.EngagementService/CreateResponse") continue;
    responses.push_back(
        absl::StrCat(e.principal(), " ", e.action(), " ", e.resource(), " ", e.outcome()));
    EXPECT_EQ(e.request_id().size(), 32u);  // the call's x-request-id
    request_ids.insert(e.request_id());
    EXPECT_GT(e.time().seconds(), 1700000000);
  }
  EXPECT_EQ(responses,
            (std::vector<std::string>{"anonymous WRITE activities/aud OK",
                                      "anonymous WRITE activities/aud INVALID_ARGUMENT"}));
  EXPECT_EQ(request_ids.size(), 2u);
}

TEST_F(ResponsesTest, ListsInPagesAndExportsEverythingInChunks) {
  MakeActivity(stub(), "many");
  ASSERT_TRUE(Open(stub(), "many").ok());
  constexpr int kCount = 1203;
  for (int i = 0; i < kCount; ++i) {
    v1::Response out;
    ASSERT_TRUE(
        Respond(stub(), "many", ResponseOf(v1::CHANNEL_ONLINE, v1::SENTIMENT_NEUTRAL, "", {}), &out)
            .ok());
  }
  // Pages of 500.
  v1::ListResponsesRequest list;
  list.set_parent("activities/many");
  list.set_page_size(500);
  int seen = 0, pages = 0;
  while (true) {
    v1::ListResponsesResponse page;
    ASSERT_TRUE(stub().ListResponses(Ctx().get(), list, &page).ok());
    seen += page.responses_size();
    ++pages;
    if (page.next_page_token().empty()) break;
    list.set_page_token(page.next_page_token());
  }
  EXPECT_EQ(seen, kCount);
  EXPECT_EQ(pages, 3);
  // A token is bound to its query.
  list.set_parent("activities/improving-dorsets-healthcare");
  v1::ListResponsesResponse wrong;
  EXPECT_EQ(stub().ListResponses(Ctx().get(), list, &wrong).error_code(),
            StatusCode::INVALID_ARGUMENT);

  v1::ExportResponsesRequest export_request;
  export_request.set_parent("activities/many");
  export_request.set_chunk_size(500);
  auto context = Ctx();
  auto reader = stub().ExportResponses(context.get(), export_request);
  v1::ExportResponsesChunk chunk;
  int chunks = 0, exported = 0;
  std::set<std::string> names;
  while (reader->Read(&chunk)) {
    ++chunks;
    exported += chunk.responses_size();
    EXPECT_LE(chunk.responses_size(), 500);
    for (const auto& r : chunk.responses()) names.insert(r.name());
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(exported, kCount);
  EXPECT_EQ(names.size(), static_cast<size_t>(kCount));
  EXPECT_EQ(chunks, 3);

  export_request.set_parent("activities/none");
  auto missing_context = Ctx();
  auto missing = stub().ExportResponses(missing_context.get(), export_request);
  EXPECT_FALSE(missing->Read(&chunk));
  EXPECT_EQ(missing->Finish().error_code(), StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace dorset::engagement::testing
