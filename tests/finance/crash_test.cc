// Durability, on each engine: the real dorset-finance binary is killed with SIGKILL while
// clients post, then restarted on the same store (data directory or PostgreSQL database).
// Every acknowledged posting must be there exactly once, the aggregates must agree with the
// ledger, and a SQLite store must pass integrity_check.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "runtime/sqlite/database.h"
#include "runtime/testing/redis_server.h"
#include "runtime/testing/server_process.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_host.h"
#include "services/finance/storage/store.h"
#include "tests/finance/finance_test_util.h"
#include "tests/runtime/storage/engines.h"

namespace dorset::finance {
namespace {

using runtime::storage::Engine;
using testing::MakePosting;

constexpr char kScheme[] = "plans/dorset-stp/programmes/managing-demand/schemes/rightcare";

// The server as a child process (runtime/testing/server_process.h), ready once it answers.
class Child : public dorset::testing::ServerProcess {
 public:
  Child(const std::string& data_dir, int port, const std::string& database = "")
      : ServerProcess(DORSET_FINANCE_BINARY, data_dir, port, database) {}
  bool WaitReady(v1::FinanceService::Stub& stub) {
    return ServerProcess::WaitReady([&] {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
      v1::GetPlanRequest request;
      request.set_name("plans/dorset-stp");
      v1::Plan plan;
      return stub.GetPlan(&context, request, &plan).ok();
    });
  }
};

class FinanceCrashTest : public ::testing::TestWithParam<Engine> {};

TEST_P(FinanceCrashTest, EveryAcknowledgedPostingSurvivesSigkillExactlyOnce) {
  dorset::testing::TempDir dir;
  std::string database;
  DORSET_DATABASE_FOR_ENGINE(GetParam(), database);
  const int port = dorset::testing::FreePort();
  auto child = std::make_unique<Child>(dir.path(), port, database);
  auto stub = v1::FinanceService::NewStub(dorset::testing::LocalChannel(port));
  ASSERT_TRUE(child->WaitReady(*stub)) << "server did not start";

  std::mutex mu;
  std::map<std::string, std::pair<std::string, int64_t>> acknowledged;  // request_id -> name, pence
  std::atomic<bool> stop{false};
  std::atomic<int> acked_count{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 6; ++t) {
    clients.emplace_back([&, t] {
      for (int n = 0; !stop.load(); ++n) {
        const std::string request_id = absl::StrCat("crash-", t, "-", n);
        const int64_t pence = t * 100000 + n + 1;
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
        v1::CreatePostingRequest request;
        request.set_request_id(request_id);
        *request.mutable_posting() =
            MakePosting(kScheme, "2019-20", n % 12 + 1, v1::POSTING_KIND_ACTUAL, pence);
        v1::Posting response;
        if (stub->CreatePosting(&context, request, &response).ok()) {
          std::lock_guard<std::mutex> lock(mu);
          acknowledged[request_id] = {response.name(), pence};
          ++acked_count;
        } else if (stop.load()) {
          break;
        }
      }
    });
  }
  // Kill mid-stream once a good number of postings were acknowledged.
  for (int i = 0; i < 600 && acked_count.load() < 400; ++i) absl::SleepFor(absl::Milliseconds(10));
  const int killed = child->Signal(SIGKILL);
  EXPECT_TRUE(WIFSIGNALED(killed) && WTERMSIG(killed) == SIGKILL);
  stop = true;
  for (auto& c : clients) c.join();
  ASSERT_GT(acknowledged.size(), 0u);

  child = std::make_unique<Child>(dir.path(), port, database);
  ASSERT_TRUE(child->WaitReady(*stub)) << "server did not restart";

  std::map<std::string, std::vector<v1::Posting>> by_request;
  v1::ListPostingsRequest list;
  list.set_page_size(1000);
  while (true) {
    grpc::ClientContext context;
    v1::ListPostingsResponse page;
    grpc::Status status = stub->ListPostings(&context, list, &page);
    ASSERT_TRUE(status.ok()) << status.error_message();
    for (const auto& p : page.postings()) by_request[p.request_id()].push_back(p);
    if (page.next_page_token().empty()) break;
    list.set_page_token(page.next_page_token());
  }
  for (const auto& [request_id, expected] : acknowledged) {
    auto it = by_request.find(request_id);
    ASSERT_NE(it, by_request.end()) << "acknowledged posting lost: " << request_id;
    ASSERT_EQ(it->second.size(), 1u) << request_id;
    EXPECT_EQ(it->second[0].name(), expected.first);
    EXPECT_EQ(it->second[0].amount().pence(), expected.second);
  }
  for (const auto& [request_id, postings] : by_request) EXPECT_EQ(postings.size(), 1u);

  // Retrying an acknowledged request after the crash still posts nothing new.
  const auto& [some_id, some] = *acknowledged.begin();
  {
    grpc::ClientContext context;
    v1::CreatePostingRequest request;
    request.set_request_id(some_id);
    const int t = std::stoi(some_id.substr(6, some_id.find('-', 6) - 6));
    const int n = std::stoi(some_id.substr(some_id.rfind('-') + 1));
    *request.mutable_posting() =
        MakePosting(kScheme, "2019-20", n % 12 + 1, v1::POSTING_KIND_ACTUAL, t * 100000 + n + 1);
    v1::Posting response;
    ASSERT_TRUE(stub->CreatePosting(&context, request, &response).ok());
    EXPECT_EQ(response.name(), some.first);
  }

  const int stopped = child->Signal(SIGTERM);
  EXPECT_TRUE(WIFEXITED(stopped) && WEXITSTATUS(stopped) == 0);
  child.reset();

  if (GetParam() == Engine::kSqlite) {
    auto db = runtime::sqlite::Database::Open(dir.path() + "/finance.db");
    ASSERT_TRUE(db.ok()) << db.status();
    auto check = (*db)->Prepare("PRAGMA integrity_check");
    ASSERT_TRUE(check.ok());
    ASSERT_TRUE(*check->Step());
    EXPECT_EQ(check->Text(0), "ok");
  }
  // The aggregates agree with the ledger, key by key.
  auto store = FinanceStore::Open(database, dir.path());
  ASSERT_TRUE(store.ok()) << store.status();
  absl::StatusOr<int64_t> mismatches = (*store)->Read([](Transaction& tx)
                                                          -> absl::StatusOr<int64_t> {
    auto stmt = tx.Prepare(
        "SELECT COUNT(*) FROM (SELECT scheme_id, year, month, kind, SUM(amount_pence) AS s FROM "
        "posting GROUP BY scheme_id, year, month, kind) p FULL OUTER JOIN total t USING "
        "(scheme_id, year, month, kind) WHERE p.s IS DISTINCT FROM t.amount_pence");
    if (!stmt.ok()) return stmt.status();
    auto row = stmt->Step();
    if (!row.ok()) return row.status();
    return stmt->Int(0);
  });
  ASSERT_TRUE(mismatches.ok()) << mismatches.status();
  EXPECT_EQ(*mismatches, 0);
  std::cout << "acknowledged before SIGKILL: " << acknowledged.size()
            << ", postings after restart: " << by_request.size() << "\n";
}

INSTANTIATE_TEST_SUITE_P(Engines, FinanceCrashTest,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const ::testing::TestParamInfo<Engine>& info) {
                           return std::string(runtime::storage::EngineName(info.param));
                         });

}  // namespace
}  // namespace dorset::finance
