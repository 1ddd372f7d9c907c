// Exactly once across replicas for finance and engagement (issue 13; the registry's case is in
// registry_replicas_test): the same request_id sent to two replicas of the real binary at the
// same moment makes one posting / one response, and both callers get the same reply. The
// idempotency record's request_id is its primary key and every write transaction is
// SERIALIZABLE, so the loser of the race runs again and answers with the stored reply
// (docs/storage.md, "Many replicas"). ctest label `postgres_only`.
#include <atomic>
#include <chrono>
#include <map>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/barrier.h"
#include "dorset/engagement/v1/engagement.grpc.pb.h"
#include "dorset/finance/v1/finance.grpc.pb.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/replicas/replica_set.h"

namespace dorset::replicas {
namespace {

namespace fin = dorset::finance::v1;
namespace eng = dorset::engagement::v1;
using google::protobuf::util::MessageDifferencer;

constexpr char kScheme[] = "plans/dorset-stp/programmes/managing-demand/schemes/rightcare";
constexpr int kRounds = 25;

// Two replicas of `binary` on one fresh database; the first starts (migrates, seeds) alone.
template <typename Stub>
std::vector<std::unique_ptr<Replica>> StartTwo(SharedBackends& shared, const std::string& binary,
                                               const std::string& name,
                                               std::vector<std::unique_ptr<Stub>>& stubs,
                                               const std::function<bool(Stub&)>& ready) {
  const std::string database = shared.NewDatabase();
  std::vector<std::unique_ptr<Replica>> replicas;
  for (int r = 0; r < 2; ++r) {
    replicas.push_back(std::make_unique<Replica>(binary, shared.NewDir(absl::StrCat(name, r)),
                                                 database, ReplicaFlags(shared)));
    replicas.back()->Start();
    stubs.push_back(std::make_unique<Stub>(ChannelTo(replicas.back()->address())));
    EXPECT_TRUE(WaitFor([&] { return ready(*stubs.back()); })) << name << r;
  }
  return replicas;
}

// Runs `call(replica)` on both replicas at the same moment.
template <typename Reply>
void AtOnce(const std::function<grpc::Status(int, Reply*)>& call, grpc::Status statuses[2],
            Reply replies[2]) {
  absl::Barrier* start = new absl::Barrier(2);
  std::vector<std::thread> callers;
  for (int r = 0; r < 2; ++r) {
    callers.emplace_back([&, r] {
      if (start->Block()) delete start;
      statuses[r] = call(r, &replies[r]);
    });
  }
  for (std::thread& t : callers) t.join();
}

TEST(FinanceReplicas, OneRequestIdSentToBothReplicasAtOnceMakesOnePostingAndOneReply) {
  auto shared = SharedBackends::Start();
  ASSERT_NE(shared, nullptr);
  std::vector<std::unique_ptr<fin::FinanceService::Stub>> stubs;
  auto replicas = StartTwo<fin::FinanceService::Stub>(
      *shared, DORSET_FINANCE_BINARY, "finance", stubs, [](fin::FinanceService::Stub& stub) {
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
        fin::GetPlanRequest request;
        request.set_name("plans/dorset-stp");
        fin::Plan plan;
        return stub.GetPlan(&context, request, &plan).ok();
      });
  for (int round = 0; round < kRounds; ++round) {
    grpc::Status statuses[2];
    fin::Posting replies[2];
    AtOnce<fin::Posting>(
        [&](int r, fin::Posting* out) {
          grpc::ClientContext context;
          context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
          fin::CreatePostingRequest request;
          request.set_request_id(absl::StrCat("same-posting-", round));
          fin::Posting* p = request.mutable_posting();
          p->set_scheme(kScheme);
          p->set_financial_year("2019-20");
          p->set_month(round % 12 + 1);
          p->set_kind(fin::POSTING_KIND_ACTUAL);
          p->mutable_amount()->set_pence(1000 + round);
          p->set_reason("replicas");
          return stubs[r]->CreatePosting(&context, request, out);
        },
        statuses, replies);
    for (int r = 0; r < 2; ++r) ASSERT_TRUE(statuses[r].ok()) << statuses[r].error_message();
    EXPECT_TRUE(MessageDifferencer::Equals(replies[0], replies[1]))
        << replies[0].DebugString() << " vs " << replies[1].DebugString();
  }
  std::map<std::string, int> by_request;
  fin::ListPostingsRequest list;
  list.set_page_size(1000);
  grpc::ClientContext context;
  fin::ListPostingsResponse page;
  ASSERT_TRUE(stubs[1]->ListPostings(&context, list, &page).ok());
  for (const fin::Posting& p : page.postings()) ++by_request[p.request_id()];
  for (int round = 0; round < kRounds; ++round) {
    EXPECT_EQ(by_request[absl::StrCat("same-posting-", round)], 1) << round;
  }
}

TEST(EngagementReplicas, OneRequestIdSentToBothReplicasAtOnceMakesOneResponseAndOneReply) {
  auto shared = SharedBackends::Start();
  ASSERT_NE(shared, nullptr);
  std::vector<std::unique_ptr<eng::EngagementService::Stub>> stubs;
  auto replicas = StartTwo<eng::EngagementService::Stub>(
      *shared, DORSET_ENGAGEMENT_BINARY, "engagement", stubs,
      [](eng::EngagementService::Stub& stub) {
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
        eng::ListActivitiesRequest request;
        eng::ListActivitiesResponse response;
        return stub.ListActivities(&context, request, &response).ok();
      });
  {
    grpc::ClientContext create_context;
    eng::CreateActivityRequest create;
    create.set_activity_id("replicas");
    create.mutable_activity()->set_kind(eng::ACTIVITY_KIND_CONSULTATION);
    create.mutable_activity()->set_title("Replicas");
    create.mutable_activity()->set_purpose("exactly once across replicas");
    eng::Activity out;
    ASSERT_TRUE(stubs[0]->CreateActivity(&create_context, create, &out).ok());
    grpc::ClientContext open_context;
    eng::OpenActivityRequest open;
    open.set_name("activities/replicas");
    ASSERT_TRUE(stubs[1]->OpenActivity(&open_context, open, &out).ok());
  }
  for (int round = 0; round < kRounds; ++round) {
    grpc::Status statuses[2];
    eng::Response replies[2];
    AtOnce<eng::Response>(
        [&](int r, eng::Response* out) {
          grpc::ClientContext context;
          context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
          eng::CreateResponseRequest request;
          request.set_parent("activities/replicas");
          request.set_request_id(absl::StrCat("same-response-", round));
          request.mutable_response()->set_channel(eng::CHANNEL_ONLINE);
          request.mutable_response()->set_sentiment(eng::SENTIMENT_SUPPORTIVE);
          request.mutable_response()->set_publish_consent(true);
          request.mutable_response()->set_text(absl::StrCat("same response ", round));
          return stubs[r]->CreateResponse(&context, request, out);
        },
        statuses, replies);
    for (int r = 0; r < 2; ++r) ASSERT_TRUE(statuses[r].ok()) << statuses[r].error_message();
    EXPECT_TRUE(MessageDifferencer::Equals(replies[0], replies[1]))
        << replies[0].DebugString() << " vs " << replies[1].DebugString();
  }
  std::map<std::string, int> by_text;
  eng::ListResponsesRequest list;
  list.set_parent("activities/replicas");
  list.set_page_size(1000);
  grpc::ClientContext context;
  eng::ListResponsesResponse page;
  ASSERT_TRUE(stubs[1]->ListResponses(&context, list, &page).ok());
  for (const eng::Response& r : page.responses()) ++by_text[r.text()];
  ASSERT_EQ(by_text.size(), static_cast<size_t>(kRounds));
  for (const auto& [text, count] : by_text) EXPECT_EQ(count, 1) << text;
}

// A Deployment starts its replicas together: two replicas of each seeding service starting at
// the same moment on an empty database both come up, and the seed is there once.
TEST(ReplicasStartingTogether, BothServeAndTheSeedIsWrittenOnce) {
  auto shared = SharedBackends::Start();
  ASSERT_NE(shared, nullptr);
  for (const std::string service : {"finance", "engagement"}) {
    const std::string database = shared->NewDatabase();
    std::vector<std::unique_ptr<Replica>> replicas;
    for (int r = 0; r < 2; ++r) {
      replicas.push_back(std::make_unique<Replica>(
          service == "finance" ? DORSET_FINANCE_BINARY : DORSET_ENGAGEMENT_BINARY,
          shared->NewDir(absl::StrCat(service, "-together-", r)), database, ReplicaFlags(*shared)));
    }
    for (auto& replica : replicas) replica->Start();  // together
    for (auto& replica : replicas) {
      if (service == "finance") {
        auto stub = fin::FinanceService::NewStub(ChannelTo(replica->address()));
        ASSERT_TRUE(WaitFor([&] {
          grpc::ClientContext context;
          context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
          fin::ListPlansRequest request;
          fin::ListPlansResponse response;
          return stub->ListPlans(&context, request, &response).ok();
        })) << service
            << " replica " << replica->address() << " did not come up; its log:\n"
            << replica->LogTail();
        grpc::ClientContext context;
        fin::ListPlansResponse plans;
        ASSERT_TRUE(stub->ListPlans(&context, fin::ListPlansRequest(), &plans).ok());
        EXPECT_EQ(plans.plans_size(), 1) << plans.DebugString();
      } else {
        auto stub = eng::EngagementService::NewStub(ChannelTo(replica->address()));
        ASSERT_TRUE(WaitFor([&] {
          grpc::ClientContext context;
          context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
          eng::ListActivitiesResponse response;
          return stub->ListActivities(&context, eng::ListActivitiesRequest(), &response).ok();
        })) << service
            << " replica " << replica->address() << " did not come up; its log:\n"
            << replica->LogTail();
        grpc::ClientContext context;
        eng::ListActivitiesResponse activities;
        ASSERT_TRUE(stub->ListActivities(&context, eng::ListActivitiesRequest(), &activities).ok());
        std::map<std::string, int> titles;
        for (const eng::Activity& a : activities.activities()) ++titles[a.title()];
        for (const auto& [title, count] : titles) EXPECT_EQ(count, 1) << title;
      }
    }
  }
}

// Finance's ledger across replicas: postings from several callers through both replicas at once
// all commit (each group waits its turn for the ledger's head, Database::WriteQueued, instead of
// colliding), and the one hash chain they make verifies (VerifyLedger on either replica).
TEST(FinanceReplicas, PostingsThroughBothReplicasAtOnceMakeOneChainThatVerifies) {
  auto shared = SharedBackends::Start();
  ASSERT_NE(shared, nullptr);
  std::vector<std::unique_ptr<fin::FinanceService::Stub>> stubs;
  auto replicas = StartTwo<fin::FinanceService::Stub>(
      *shared, DORSET_FINANCE_BINARY, "finance-chain", stubs, [](fin::FinanceService::Stub& stub) {
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
        fin::GetPlanRequest request;
        request.set_name("plans/dorset-stp");
        fin::Plan plan;
        return stub.GetPlan(&context, request, &plan).ok();
      });
  constexpr int kCallersPerReplica = 3;
  constexpr int kPostingsPerCaller = 20;
  std::atomic<int> acknowledged{0};
  std::vector<std::thread> callers;
  for (int r = 0; r < 2; ++r) {
    for (int c = 0; c < kCallersPerReplica; ++c) {
      callers.emplace_back([&, r, c] {
        for (int n = 0; n < kPostingsPerCaller; ++n) {
          grpc::ClientContext context;
          context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
          fin::CreatePostingRequest request;
          request.set_request_id(absl::StrCat("chain-", r, "-", c, "-", n));
          fin::Posting* p = request.mutable_posting();
          p->set_scheme(kScheme);
          p->set_financial_year(n % 2 == 0 ? "2019-20" : "2020-21");  // two chains
          p->set_month(n % 12 + 1);
          p->set_kind(fin::POSTING_KIND_ACTUAL);
          p->mutable_amount()->set_pence(100 + n);
          p->set_reason("chain across replicas");
          fin::Posting out;
          grpc::Status status = stubs[r]->CreatePosting(&context, request, &out);
          EXPECT_TRUE(status.ok()) << status.error_message();
          if (status.ok()) ++acknowledged;
        }
      });
    }
  }
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(acknowledged.load(), 2 * kCallersPerReplica * kPostingsPerCaller);
  for (int r = 0; r < 2; ++r) {
    grpc::ClientContext context;
    fin::VerifyLedgerResponse verified;
    grpc::Status status = stubs[r]->VerifyLedger(&context, fin::VerifyLedgerRequest(), &verified);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_TRUE(verified.ok()) << verified.DebugString();
    EXPECT_GE(verified.postings_checked(), acknowledged.load());
    EXPECT_EQ(verified.first_mismatch(), "");
  }
}

}  // namespace
}  // namespace dorset::replicas
