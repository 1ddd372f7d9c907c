// The audit trail across replicas (issue 13): two processes of the real finance binary on one
// PostgreSQL database each serve writes; ListAuditEvents on either replica returns the events of
// both, in one sequence, and nothing of the trail is kept in a replica's data directory, so a
// replica killed and replaced by one with an empty data directory (a pod rescheduled with a new
// emptyDir) loses none of it; a page of the trail from one replica continues on the other. ctest
// label `postgres_only`.
#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "dorset/common/v1/audit.grpc.pb.h"
#include "dorset/finance/v1/finance.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/replicas/replica_set.h"

namespace dorset::replicas {
namespace {

namespace fin = dorset::finance::v1;
namespace common = dorset::common::v1;

constexpr char kScheme[] = "plans/dorset-stp/programmes/managing-demand/schemes/rightcare";
constexpr char kCreatePosting[] = "/dorset.finance.v1.FinanceService/CreatePosting";
constexpr int kPerReplica = 10;

bool Ready(const std::string& address) {
  auto stub = fin::FinanceService::NewStub(ChannelTo(address));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  fin::GetPlanRequest request;
  request.set_name("plans/dorset-stp");
  fin::Plan plan;
  return stub->GetPlan(&context, request, &plan).ok();
}

grpc::Status Post(const std::string& address, const std::string& request_id, int n) {
  auto stub = fin::FinanceService::NewStub(ChannelTo(address));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  context.AddMetadata("x-request-id", request_id);
  fin::CreatePostingRequest request;
  request.set_request_id(request_id);
  fin::Posting* p = request.mutable_posting();
  p->set_scheme(kScheme);
  p->set_financial_year("2019-20");
  p->set_month(n % 12 + 1);
  p->set_kind(fin::POSTING_KIND_ACTUAL);
  p->mutable_amount()->set_pence(100 + n);
  p->set_reason("audit across replicas");
  fin::Posting out;
  return stub->CreatePosting(&context, request, &out);
}

// Every event of the trail as one replica lists it (all pages).
std::vector<common::AuditEvent> ListAll(const std::string& address) {
  auto stub = common::AuditService::NewStub(ChannelTo(address));
  std::vector<common::AuditEvent> events;
  common::ListAuditEventsRequest request;
  request.set_page_size(7);  // several pages
  while (true) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    common::ListAuditEventsResponse page;
    grpc::Status status = stub->ListAuditEvents(&context, request, &page);
    EXPECT_TRUE(status.ok()) << status.error_message();
    if (!status.ok()) return events;
    events.insert(events.end(), page.events().begin(), page.events().end());
    if (page.next_page_token().empty()) return events;
    request.set_page_token(page.next_page_token());
  }
}

// The request ids of the CreatePosting events, checking the sequence rises.
std::set<std::string> PostingRequestIds(const std::vector<common::AuditEvent>& events) {
  std::set<std::string> ids;
  int64_t previous = 0;
  for (const common::AuditEvent& e : events) {
    EXPECT_GT(e.sequence(), previous);
    previous = e.sequence();
    if (e.method() == kCreatePosting && e.outcome() == "OK") ids.insert(e.request_id());
  }
  return ids;
}

TEST(AuditReplicas, EitherReplicaListsEveryReplicasEventsAndAReplacedReplicaLosesNone) {
  auto shared = SharedBackends::Start();
  ASSERT_NE(shared, nullptr);
  const std::string database = shared->NewDatabase();
  std::vector<std::unique_ptr<Replica>> replicas;
  for (int r = 0; r < 2; ++r) {
    replicas.push_back(std::make_unique<Replica>(DORSET_FINANCE_BINARY,
                                                 shared->NewDir(absl::StrCat("finance", r)),
                                                 database, ReplicaFlags(*shared)));
    replicas.back()->Start();
    ASSERT_TRUE(WaitFor([&] { return Ready(replicas.back()->address()); })) << r;
  }
  std::set<std::string> expected;
  for (int n = 0; n < kPerReplica; ++n) {
    for (int r = 0; r < 2; ++r) {
      const std::string id = absl::StrCat("audit-via-", r, "-", n);
      ASSERT_TRUE(Post(replicas[r]->address(), id, n).ok()) << id;
      expected.insert(id);
    }
  }
  std::vector<common::AuditEvent> seen_by[2];
  for (int r = 0; r < 2; ++r) {
    seen_by[r] = ListAll(replicas[r]->address());
    EXPECT_EQ(PostingRequestIds(seen_by[r]), expected) << "listed by replica " << r;
    // No audit file on the replica: the trail is the database's.
    EXPECT_FALSE(std::filesystem::exists(replicas[r]->data_dir() + "/audit.db"));
  }
  ASSERT_EQ(seen_by[0].size(), seen_by[1].size());
  for (size_t i = 0; i < seen_by[0].size() && i < seen_by[1].size(); ++i) {
    EXPECT_EQ(seen_by[0][i].sequence(), seen_by[1][i].sequence());
    EXPECT_EQ(seen_by[0][i].request_id(), seen_by[1][i].request_id());
  }

  // A page of the trail from one replica continues on the other (the shared page-token key).
  {
    common::ListAuditEventsRequest request;
    request.set_page_size(5);
    common::ListAuditEventsResponse first, second;
    grpc::ClientContext c0, c1;
    ASSERT_TRUE(common::AuditService::NewStub(ChannelTo(replicas[0]->address()))
                    ->ListAuditEvents(&c0, request, &first)
                    .ok());
    ASSERT_FALSE(first.next_page_token().empty());
    request.set_page_token(first.next_page_token());
    grpc::Status status = common::AuditService::NewStub(ChannelTo(replicas[1]->address()))
                              ->ListAuditEvents(&c1, request, &second);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_GT(second.events_size(), 0);
    EXPECT_EQ(second.events(0).sequence(), seen_by[0][5].sequence());
  }

  // Replica 0 is killed and replaced by a process with an empty data directory: the trail,
  // listed by the new process and by replica 1, still holds every event.
  const std::string first_dir = replicas[0]->data_dir();
  replicas[0]->Kill9();
  std::filesystem::remove_all(first_dir);
  replicas[0] = std::make_unique<Replica>(DORSET_FINANCE_BINARY, shared->NewDir("finance0-new"),
                                          database, ReplicaFlags(*shared));
  replicas[0]->Start();
  ASSERT_TRUE(WaitFor([&] { return Ready(replicas[0]->address()); }));
  for (int r = 0; r < 2; ++r) {
    EXPECT_EQ(PostingRequestIds(ListAll(replicas[r]->address())), expected)
        << "after the replacement, listed by replica " << r;
  }
}

}  // namespace
}  // namespace dorset::replicas
