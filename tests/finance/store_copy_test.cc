// `dorset-store copy` (docs/storage.md, the copy tool): a finance store seeded through the
// finance storage code (plans, targets, budget lines, postings and a reversal) copied SQLite →
// PostgreSQL and back, verified, read back through the finance store (postings and a report
// the same), re-run as a no-op, a target holding other data refused; and the real binary's
// exit codes and report, with no password in its output, and the audit events a kill left in a
// SQLite store's outbox moved into the trail beside it, once.
#include <sys/wait.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "runtime/audit/audit_log.h"
#include "runtime/audit/outbox_packing.h"
#include "runtime/storage/copy.h"
#include "runtime/storage/transact.h"
#include "runtime/testing/postgres_server.h"
#include "runtime/testing/temp_dir.h"
#include "services/finance/posting_input.h"
#include "services/finance/storage/copy_plan.h"
#include "services/finance/storage/ledger.h"
#include "services/finance/storage/report.h"
#include "services/finance/storage/seed.h"
#include "services/finance/storage/store.h"
#include "tests/runtime/storage/engines.h"

namespace dorset::finance {
namespace {

using runtime::storage::CopyReport;
using runtime::storage::CopyService;

std::unique_ptr<FinanceStore> OpenStore(const std::string& url) {
  auto store = FinanceStore::Open(url, "");
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

std::vector<std::string> SchemeNames(FinanceStore& store) {
  auto names = store.Read([](Transaction& tx) -> absl::StatusOr<std::vector<std::string>> {
    auto stmt = tx.Prepare("SELECT name FROM node WHERE kind = 3 ORDER BY id");
    if (!stmt.ok()) return stmt.status();
    std::vector<std::string> out;
    while (true) {
      auto row = stmt->Step();
      if (!row.ok()) return row.status();
      if (!*row) return out;
      out.push_back(stmt->Text(0));
    }
  });
  EXPECT_TRUE(names.ok()) << names.status();
  return names.ok() ? *names : std::vector<std::string>{};
}

// The seed (plan, programmes, schemes, targets, budget line) plus postings in three requests,
// one of them reversing an earlier posting.
void Seed(FinanceStore& store) {
  auto seeded = LoadSeedOnce(store);
  ASSERT_TRUE(seeded.ok()) << seeded.status();
  const std::vector<std::string> schemes = SchemeNames(store);
  ASSERT_GE(schemes.size(), 3u);
  for (int request = 0; request < 3; ++request) {
    PostingBatch batch;
    batch.request_id = absl::StrCat("req-", request);
    batch.principal = "tester";
    for (int i = 0; i < 5; ++i) {
      PostingInput& in = batch.postings.emplace_back();
      in.field = absl::StrCat("postings[", i, "]");
      in.scheme = schemes[(request + i) % schemes.size()];
      in.year = 2019 + i % 2;
      in.month = 1 + (request * 5 + i) % 12;
      in.kind = 1 + i % 3;
      in.amount = 1'000'000'007LL * (i + 1) - request;
      in.reason = "copy test";
    }
    if (request == 2) {
      PostingInput& undo = batch.postings.emplace_back();
      undo.field = "postings[5]";
      undo.reason = "undo";
      undo.reverses = 3;
    }
    batch.content_hash = absl::StrCat("hash-", request);
    auto written = store.Write([&](Transaction& tx) -> absl::StatusOr<std::vector<v1::Posting>> {
      auto ledger = LedgerWriter::Create(tx);
      if (!ledger.ok()) return ledger.status();
      return (*ledger)->Apply(batch);
    });
    ASSERT_TRUE(written.ok()) << written.status();
  }
}

v1::ListPostingsResponse Postings(FinanceStore& store) {
  LedgerReader reader(store, runtime::PageTokenCodec("k"));
  v1::ListPostingsRequest request;
  request.set_page_size(1000);
  auto list = reader.List(request);
  EXPECT_TRUE(list.ok()) << list.status();
  return list.ok() ? *list : v1::ListPostingsResponse{};
}

v1::Report Report(FinanceStore& store) {
  auto data = LoadPlanData(store, std::string(kSeedPlan), std::nullopt);
  EXPECT_TRUE(data.ok()) << data.status();
  if (!data.ok()) return {};
  auto thresholds = ResolveThresholds({});
  EXPECT_TRUE(thresholds.ok());
  auto report = BuildReport(*data, 2020, 6, *thresholds);
  EXPECT_TRUE(report.ok()) << report.status();
  return report.ok() ? *report : v1::Report{};
}

bool Same(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

TEST(StoreCopyPostgres, SqliteToPostgresVerifiesReadsTheSameRerunsAndComesBack) {
  DORSET_REQUIRE_POSTGRES(testing::PostgresServer::Shared(), pg);
  dorset::testing::TempDir dir;
  const std::string sqlite_url = "sqlite://" + dir.path() + "/finance.db";
  auto source = OpenStore(sqlite_url);
  ASSERT_NE(source, nullptr);
  ASSERT_NO_FATAL_FAILURE(Seed(*source));

  auto pg_url = pg->CreateDatabase();
  ASSERT_TRUE(pg_url.ok()) << pg_url.status();
  auto target = OpenStore(*pg_url);
  ASSERT_NE(target, nullptr);

  auto copied = CopyService(source->database(), target->database(), FinanceCopyPlan());
  ASSERT_TRUE(copied.ok()) << copied.status();
  EXPECT_FALSE(copied->already_copied);
  EXPECT_TRUE(copied->Verified());
  for (const auto& table : copied->tables) {
    if (table.table == "posting") {
      EXPECT_EQ(table.target_rows, 16);
    }
    if (table.table == "node") {
      EXPECT_GT(table.target_rows, 5);
    }
  }
  ASSERT_EQ(copied->checks.size(), 3u);
  EXPECT_EQ(copied->checks[1].target_rows, std::vector<std::string>{"16"});  // highest id
  EXPECT_FALSE(copied->checks[0].target_rows.empty());

  // Read through the finance store on PostgreSQL: the same postings and the same report.
  const v1::ListPostingsResponse postings = Postings(*source);
  ASSERT_EQ(postings.postings_size(), 16);
  EXPECT_TRUE(Same(Postings(*target), postings));
  EXPECT_TRUE(Same(Report(*target), Report(*source)));
  // The identity moved past the copied ids: a new node gets a fresh id, not a collision.
  // Straight on the database, as the DELETE below is: the store's own Write would also raise
  // the data version in meta (the reply cache's), which the DELETE does not take back.
  auto fresh = runtime::storage::WriteReturning(
      target->database(), [](Transaction& tx) -> absl::StatusOr<int64_t> {
        auto stmt = tx.Prepare(
            "INSERT INTO node(name, kind, display_name, create_micros, update_micros) "
            "VALUES ('plans/after-copy', 1, 'After', 1, 1) RETURNING id");
        if (!stmt.ok()) return stmt.status();
        auto row = stmt->Step();
        if (!row.ok()) return row.status();
        return stmt->Int(0);
      });
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  for (const auto& table : copied->tables) {
    if (table.table == "node") {
      EXPECT_EQ(*fresh, table.target_rows + 1);
    }
  }
  // Take the new node away again so the two stores hold the same data.
  ASSERT_TRUE(target->database()
                  .Write([](Transaction& tx) {
                    return tx.Exec("DELETE FROM node WHERE name = 'plans/after-copy'");
                  })
                  .ok());

  // A re-run finds exactly the copy there: success, nothing written.
  auto again = CopyService(source->database(), target->database(), FinanceCopyPlan());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->already_copied);
  EXPECT_TRUE(again->Verified());
  EXPECT_TRUE(Same(Postings(*target), postings));

  // And back: PostgreSQL → a new SQLite file, equal to the original.
  auto back = OpenStore("sqlite://" + dir.path() + "/back.db");
  ASSERT_NE(back, nullptr);
  auto returned = CopyService(target->database(), back->database(), FinanceCopyPlan());
  ASSERT_TRUE(returned.ok()) << returned.status();
  EXPECT_FALSE(returned->already_copied);
  EXPECT_TRUE(Same(Postings(*back), postings));
  EXPECT_TRUE(Same(Report(*back), Report(*source)));
  // The round trip holds exactly the original: copying the original onto it is a no-op.
  auto round = CopyService(source->database(), back->database(), FinanceCopyPlan());
  ASSERT_TRUE(round.ok()) << round.status();
  EXPECT_TRUE(round->already_copied);
}

TEST(StoreCopyPostgres, ATargetHoldingOtherDataIsRefusedAndLeftAlone) {
  DORSET_REQUIRE_POSTGRES(testing::PostgresServer::Shared(), pg);
  dorset::testing::TempDir dir;
  auto source = OpenStore("sqlite://" + dir.path() + "/finance.db");
  ASSERT_NE(source, nullptr);
  ASSERT_NO_FATAL_FAILURE(Seed(*source));
  auto pg_url = pg->CreateDatabase();
  ASSERT_TRUE(pg_url.ok()) << pg_url.status();
  auto target = OpenStore(*pg_url);
  ASSERT_NE(target, nullptr);
  // The seed alone: the same plan but none of the postings.
  ASSERT_TRUE(LoadSeedOnce(*target).ok());
  const v1::ListPostingsResponse before = Postings(*target);

  auto copied = CopyService(source->database(), target->database(), FinanceCopyPlan());
  ASSERT_FALSE(copied.ok());
  EXPECT_EQ(copied.status().code(), absl::StatusCode::kFailedPrecondition) << copied.status();
  EXPECT_NE(copied.status().message().find("already holds other finance data"), std::string::npos)
      << copied.status();
  EXPECT_TRUE(Same(Postings(*target), before));
  EXPECT_EQ(before.postings_size(), 0);
}

// Runs the real binary; returns its exit code and puts stdout+stderr in `output`.
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

TEST(StoreCopyPostgres, TheBinaryCopiesWithAPasswordFileItNeverPrints) {
  // A server of its own: the password role is cluster-wide, and the run's shared server is not.
  DORSET_REQUIRE_POSTGRES(testing::PostgresServer::Start(), pg);
  dorset::testing::TempDir dir;
  {
    auto source = OpenStore("sqlite://" + dir.path() + "/finance.db");
    ASSERT_NE(source, nullptr);
    ASSERT_NO_FATAL_FAILURE(Seed(*source));
  }
  auto pg_url = pg->CreateDatabase();
  ASSERT_TRUE(pg_url.ok()) << pg_url.status();
  // The harness's password role must give its password; it comes from a file only.
  const std::string password = "s3cret-c0py-pw";
  const std::string role = testing::PostgresServer::kPasswordRole;
  const std::string dbname =
      pg_url->substr(pg_url->rfind('/') + 1, pg_url->find('?') - pg_url->rfind('/') - 1);
  (void)pg->Sql("postgres", "CREATE ROLE " + role + " LOGIN");  // may exist in this process
  ASSERT_TRUE(pg->Sql("postgres", "ALTER ROLE " + role + " PASSWORD '" + password + "'").ok());
  ASSERT_TRUE(pg->Sql(dbname, "GRANT ALL ON SCHEMA public TO " + role).ok());
  const std::string url =
      absl::StrCat("postgres://", role, "@127.0.0.1:", pg->port(), "/", dbname, "?sslmode=disable");
  dorset::testing::WriteFile(dir.File("pw"), password + "\n");
  std::string out;
  const std::string args =
      absl::StrCat("copy --service finance --from sqlite://", dir.path(), "/finance.db --to ", url,
                   " --to_password_file ", dir.File("pw"));
  EXPECT_EQ(RunStore(args, out), 0) << out;
  EXPECT_NE(out.find("verified"), std::string::npos) << out;
  EXPECT_NE(out.find("table posting: 16 rows in source, 16 in target"), std::string::npos) << out;
  EXPECT_EQ(out.find(password), std::string::npos) << out;
  EXPECT_EQ(RunStore(args, out), 0) << out;  // re-run: nothing written
  EXPECT_NE(out.find("nothing written"), std::string::npos) << out;
  EXPECT_EQ(out.find(password), std::string::npos) << out;
}

TEST(StoreCopyTool, ExitCodesOnSqlite) {
  dorset::testing::TempDir dir;
  {
    auto source = OpenStore("sqlite://" + dir.path() + "/a.db");
    ASSERT_NE(source, nullptr);
    ASSERT_NO_FATAL_FAILURE(Seed(*source));
    auto other = OpenStore("sqlite://" + dir.path() + "/other.db");
    ASSERT_NE(other, nullptr);
    ASSERT_TRUE(LoadSeedOnce(*other).ok());
  }
  const std::string from = absl::StrCat("--from sqlite://", dir.path(), "/a.db");
  std::string out;
  EXPECT_EQ(RunStore(absl::StrCat("copy --service finance ", from, " --to sqlite://", dir.path(),
                                  "/b.db"),
                     out),
            0)
      << out;
  EXPECT_NE(out.find("verified"), std::string::npos) << out;
  EXPECT_NE(out.find("check highest posting id: equal (1 rows: 16)"), std::string::npos) << out;
  EXPECT_EQ(RunStore(absl::StrCat("copy --service finance ", from, " --to sqlite://", dir.path(),
                                  "/other.db"),
                     out),
            1)
      << out;
  EXPECT_NE(out.find("FAILED_PRECONDITION"), std::string::npos) << out;
  EXPECT_EQ(RunStore(absl::StrCat("copy --service nosuch ", from, " --to sqlite:///x.db"), out), 2)
      << out;
  EXPECT_NE(out.find("known: registry, finance, engagement"), std::string::npos) << out;
  EXPECT_EQ(RunStore(absl::StrCat("copy --service finance ", from, " --to relative.db"), out), 1)
      << out;
  EXPECT_NE(out.find("--to"), std::string::npos) << out;
}

// A service killed with no restart since leaves group-committed writes' audit events in its
// store's outbox (runtime/audit/audit_outbox.h); the copy moves the store, not the trail, so it
// first moves them into audit.db beside the store — refused when there is none — exactly once.
TEST(StoreCopyTool, AuditEventsLeftInTheOutboxMoveIntoTheTrailBesideTheStoreOnce) {
  dorset::testing::TempDir dir;
  {
    auto source = OpenStore("sqlite://" + dir.path() + "/finance.db");
    ASSERT_NE(source, nullptr);
    ASSERT_NO_FATAL_FAILURE(Seed(*source));
    ASSERT_TRUE(source->database()
                    .Write([](Transaction& tx) -> absl::Status {
                      // A row an older version wrote (one event), then a group's packed row.
                      auto insert = tx.Prepare(
                          "INSERT INTO audit_outbox(time_us, principal, method, resource, action, "
                          "request_id, outcome) VALUES (1, 'tester', 'CreatePostings', "
                          "'postings', 'WRITE', 'left-by-kill', 'OK')");
                      if (!insert.ok()) return insert.status();
                      if (absl::Status run = insert->Run(); !run.ok()) return run;
                      const runtime::OutboxRow group[] = {
                          {2, "tester", "CreatePosting", "postings/1", "WRITE", "group-1", "OK"},
                          {3, "tester", "CreatePosting", "postings/2", "WRITE", "group-2", "OK"}};
                      std::string packed;
                      runtime::outbox_packing::Pack(group, packed);
                      auto packed_insert = tx.Prepare(
                          "INSERT INTO audit_outbox(time_us, principal, method, resource, action, "
                          "request_id, outcome, events, event_count) VALUES (2, '', '', '', '', "
                          "'', '', ?, 2)");
                      if (!packed_insert.ok()) return packed_insert.status();
                      return packed_insert->BindBlob(1, packed).Run();
                    })
                    .ok());
  }
  const std::string from = absl::StrCat("--from sqlite://", dir.path(), "/finance.db");
  std::string out;
  // No trail beside the store: the events would be left behind, so the copy is refused.
  EXPECT_EQ(RunStore(absl::StrCat("copy --service finance ", from, " --to sqlite://", dir.path(),
                                  "/b.db"),
                     out),
            1)
      << out;
  EXPECT_NE(out.find("FAILED_PRECONDITION"), std::string::npos) << out;
  EXPECT_NE(out.find("3 audit event(s) are still in the store's audit outbox"), std::string::npos)
      << out;

  auto created = runtime::AuditLog::Open(dir.path());  // the service's trail, as it starts it
  ASSERT_TRUE(created.ok()) << created.status();
  created->reset();
  EXPECT_EQ(RunStore(absl::StrCat("copy --service finance ", from, " --to sqlite://", dir.path(),
                                  "/b.db"),
                     out),
            0)
      << out;
  EXPECT_NE(out.find("audit outbox: 3 event(s) moved into " + dir.path() + "/audit.db"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("verified"), std::string::npos) << out;
  // Again, to another target: the row is moved already and must not reach the trail twice.
  EXPECT_EQ(RunStore(absl::StrCat("copy --service finance ", from, " --to sqlite://", dir.path(),
                                  "/c.db"),
                     out),
            0)
      << out;

  auto audit = runtime::AuditLog::Open(dir.path());
  ASSERT_TRUE(audit.ok()) << audit.status();
  common::v1::ListAuditEventsRequest request;
  request.set_page_size(1000);
  auto page = (*audit)->List(request);
  ASSERT_TRUE(page.ok()) << page.status();
  std::vector<std::string> found;
  for (const auto& event : page->events()) {
    if (event.principal() == "tester") found.push_back(event.request_id());
  }
  EXPECT_EQ(found, (std::vector<std::string>{"left-by-kill", "group-1", "group-2"}));
}

}  // namespace
}  // namespace dorset::finance
