// The finance store on the storage lane: a finance.db written by the code before the lane
// (schema applied by runtime/sqlite's Migrate, version in PRAGMA user_version) opens with its
// data as it was and is not migrated twice; and the ledger gives postings their own
// consecutive ids on both engines.
#include "services/finance/storage/store.h"

#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "finance_migrations.h"
#include "gtest/gtest.h"
#include "runtime/sqlite/database.h"
#include "runtime/testing/postgres_server.h"
#include "runtime/testing/temp_dir.h"
#include "services/finance/storage/ledger.h"
#include "services/finance/storage/posting_committer.h"
#include "services/finance/storage/seed.h"
#include "services/finance/storage/verify.h"
#include "tests/runtime/storage/engines.h"

namespace dorset::finance {
namespace {

using runtime::storage::Engine;

// Writes `<dir>/finance.db` as the pre-lane FinanceStore::Open did: Migrate with schema v1
// (the same text as the lane's SQLite step 1), then a plan and a posting.
void WriteOldStore(const std::string& dir) {
  auto db = runtime::sqlite::Database::Open(dir + "/finance.db");
  ASSERT_TRUE(db.ok()) << db.status();
  const runtime::storage::Migration& v1 = migrations::FinanceMigrations(Engine::kSqlite)[0];
  const runtime::sqlite::Migration old[] = {{1, v1.sql}};
  ASSERT_TRUE((*db)->Migrate(old).ok());
  ASSERT_TRUE((*db)
                  ->Exec("INSERT INTO node(id, name, kind, display_name, create_micros, "
                         "update_micros) VALUES (7, 'plans/old', 1, 'Old plan', 1, 1);"
                         "INSERT INTO node(id, name, kind, plan_id, parent_id, display_name, "
                         "create_micros, update_micros) VALUES (8, 'plans/old/programmes/p', 2, "
                         "7, 7, 'P', 1, 1), (9, 'plans/old/programmes/p/schemes/s', 3, 7, 8, "
                         "'S', 1, 1);"
                         "INSERT INTO posting(id, scheme_id, year, month, kind, amount_pence, "
                         "principal, create_micros, reason, request_id) VALUES (41, 9, 2019, 4, "
                         "2, 1234, 'old', 1, 'r', 'req-old');"
                         "INSERT INTO posting_request(request_id, content_hash, "
                         "first_posting_id, posting_count) VALUES ('req-old', 'hash-old', 41, 1);"
                         "INSERT INTO meta(key, value) VALUES ('seed', 'dorset-stp-v1');")
                  .ok());
  auto version = (*db)->SchemaVersion();
  ASSERT_TRUE(version.ok());
  ASSERT_EQ(*version, 1);
}

absl::StatusOr<int64_t> Count(FinanceStore& store, const std::string& sql) {
  return store.Read([&](Transaction& tx) -> absl::StatusOr<int64_t> {
    absl::StatusOr<runtime::storage::Statement> stmt = tx.Prepare(sql);
    if (!stmt.ok()) return stmt.status();
    absl::StatusOr<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    return stmt->Int(0);
  });
}

TEST(FinanceStoreTest, AStoreFromBeforeTheLaneOpensUnchangedAndOnce) {
  dorset::testing::TempDir dir;
  ASSERT_NO_FATAL_FAILURE(WriteOldStore(dir.path()));
  for (int open = 0; open < 2; ++open) {  // the second open finds it carried over
    auto store = FinanceStore::Open("", dir.path());
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_EQ(*Count(**store,
                     "SELECT COUNT(*) FROM posting WHERE id = 41 AND amount_pence = "
                     "1234 AND request_id = 'req-old'"),
              1);
    EXPECT_EQ(*Count(**store, "SELECT COUNT(*) FROM node"), 3);
    EXPECT_EQ(*Count(**store, "SELECT COUNT(*) FROM schema_migrations WHERE version = 1"), 1);
    // The seed marker survived, so the seed is not loaded over the old data.
    auto seeded = LoadSeedOnce(**store);
    ASSERT_TRUE(seeded.ok()) << seeded.status();
    EXPECT_FALSE(*seeded);
  }
}

// The old rows (a plan, a posting and its posting_request) as the schema of step 1 holds them.
constexpr const char* kOldRows[] = {
    "INSERT INTO node(id, name, kind, display_name, create_micros, update_micros) VALUES (7, "
    "'plans/old', 1, 'Old plan', 1, 1)",
    "INSERT INTO node(id, name, kind, plan_id, parent_id, display_name, create_micros, "
    "update_micros) VALUES (8, 'plans/old/programmes/p', 2, 7, 7, 'P', 1, 1), (9, "
    "'plans/old/programmes/p/schemes/s', 3, 7, 8, 'S', 1, 1)",
    "INSERT INTO posting(id, scheme_id, year, month, kind, amount_pence, principal, "
    "create_micros, reason, request_id) VALUES (41, 9, 2019, 4, 2, 1234, 'old', 1, 'r', "
    "'req-old')",
    "INSERT INTO posting_request(request_id, content_hash, first_posting_id, posting_count) "
    "VALUES ('req-old', 'hash-old', 41, 1)",
};

// A PostgreSQL database at the lane's schema step 1 (before the idempotency record) with
// kOldRows; returns its URL.
absl::StatusOr<std::string> WriteStepOneStore() {
  absl::StatusOr<dorset::testing::PostgresServer*> pg = dorset::testing::PostgresServer::Shared();
  if (!pg.ok()) return pg.status();
  absl::StatusOr<std::string> url = (*pg)->CreateDatabase();
  if (!url.ok()) return url.status();
  absl::StatusOr<runtime::storage::DatabaseUrl> parsed =
      runtime::storage::ParseDatabaseUrl(*url, "", "");
  if (!parsed.ok()) return parsed.status();
  runtime::storage::DatabaseOptions options;
  options.migrations = migrations::FinanceMigrations(Engine::kPostgres).first(1);
  absl::StatusOr<std::unique_ptr<runtime::storage::Database>> db =
      runtime::storage::OpenDatabase(*parsed, {}, nullptr, options);
  if (!db.ok()) return db.status();
  absl::Status written = (*db)->Write([](Transaction& tx) -> absl::Status {
    for (const char* sql : kOldRows) {
      if (absl::Status s = tx.Exec(sql); !s.ok()) return s;
    }
    return absl::OkStatus();
  });
  if (!written.ok()) return written;
  return *url;
}

class FinanceStoreEngineTest : public ::testing::TestWithParam<Engine> {};

// Step 2 moves posting_request into the lane's one idempotency record, on either engine: a
// request made before the upgrade is still answered once (a retry gets its postings) and its id
// still refuses other content or another caller.
TEST_P(FinanceStoreEngineTest, RequestIdsFromBeforeTheIdempotencyRecordStillHold) {
  dorset::testing::TempDir dir;
  if (GetParam() == Engine::kPostgres) {
    DORSET_REQUIRE_POSTGRES(dorset::testing::PostgresServer::Shared(), pg);
    (void)pg;
  }
  // SQLite: a finance.db from before the lane (adopted, then step 2); PostgreSQL: a database at
  // the lane's step 1.
  std::string setting;
  if (GetParam() == Engine::kSqlite) {
    ASSERT_NO_FATAL_FAILURE(WriteOldStore(dir.path()));
  } else {
    absl::StatusOr<std::string> url = WriteStepOneStore();
    ASSERT_TRUE(url.ok()) << url.status();
    setting = *url;
  }
  auto store = FinanceStore::Open(setting, dir.path());
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(*Count(**store, "SELECT COUNT(*) FROM schema_migrations WHERE version = 2"), 1);
  EXPECT_EQ(*Count(**store,
                   "SELECT COUNT(*) FROM idempotency_records WHERE request_id = 'req-old' AND "
                   "method = 'CreatePostings' AND principal = 'old' AND request_hash = "
                   "'hash-old' AND create_micros = 1"),
            1);
  const auto apply = [&](const std::string& principal, const std::string& hash) {
    PostingBatch batch;
    batch.request_id = "req-old";
    batch.principal = principal;
    batch.content_hash = hash;
    return (*store)->Write([&](Transaction& tx) -> absl::StatusOr<std::vector<v1::Posting>> {
      absl::StatusOr<std::unique_ptr<LedgerWriter>> ledger = LedgerWriter::Create(tx);
      if (!ledger.ok()) return ledger.status();
      return (*ledger)->Apply(batch);
    });
  };
  absl::StatusOr<std::vector<v1::Posting>> retry = apply("old", "hash-old");
  ASSERT_TRUE(retry.ok()) << retry.status();
  ASSERT_EQ(retry->size(), 1u);
  EXPECT_EQ((*retry)[0].name(), "postings/41");
  EXPECT_EQ((*retry)[0].amount().pence(), 1234);
  EXPECT_EQ(apply("old", "hash-other").status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(apply("someone-else", "hash-old").status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(*Count(**store, "SELECT COUNT(*) FROM posting"), 1);
}

// The posting committer keeps the ledger's state from one group for the next (ledger.h,
// LedgerMemo) only while nothing else wrote: postings written in between through another handle
// on the same store (as another replica or process would) are followed, so ids stay consecutive,
// the month's total holds every posting and the chain verifies.
TEST_P(FinanceStoreEngineTest, TheCommittersKeptLedgerStateFollowsOtherWriters) {
  dorset::testing::TempDir dir;
  std::string setting;
  if (GetParam() == Engine::kPostgres) {
    DORSET_REQUIRE_POSTGRES(dorset::testing::PostgresServer::Shared(), pg);
    absl::StatusOr<std::string> url = pg->CreateDatabase();
    ASSERT_TRUE(url.ok()) << url.status();
    setting = *url;
  }
  auto first = FinanceStore::Open(setting, dir.path());
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(LoadSeedOnce(**first).ok());
  auto second = FinanceStore::Open(setting, dir.path());
  ASSERT_TRUE(second.ok()) << second.status();
  const std::string scheme = "plans/dorset-stp/programmes/managing-demand/schemes/rightcare";
  const auto batch = [&](const std::string& request_id, int64_t pence) {
    PostingBatch b;
    b.request_id = request_id;
    b.principal = "tester";
    b.content_hash = request_id;
    b.postings.push_back(PostingInput{.field = "posting",
                                      .scheme = scheme,
                                      .year = 2020,
                                      .month = 6,
                                      .kind = 2,
                                      .amount = pence,
                                      .reason = "memo",
                                      .reverses = std::nullopt});
    return b;
  };
  std::unique_ptr<PostingCommitter> committer = StartPostingCommitter(**first);
  const auto commit = [&](const std::string& request_id, int64_t pence) {
    absl::Notification done;
    absl::StatusOr<std::vector<v1::Posting>> out = absl::UnknownError("not done");
    PostingJob job;
    job.batch = batch(request_id, pence);
    job.done = [&](absl::StatusOr<std::vector<v1::Posting>> result) {
      out = std::move(result);
      done.Notify();
    };
    committer->Submit(std::move(job));
    done.WaitForNotification();
    return out;
  };
  const auto elsewhere = [&](const std::string& request_id, int64_t pence) {
    return (*second)->Write([&](Transaction& tx) -> absl::StatusOr<std::vector<v1::Posting>> {
      absl::StatusOr<std::unique_ptr<LedgerWriter>> ledger = LedgerWriter::Create(tx);
      if (!ledger.ok()) return ledger.status();
      return (*ledger)->Apply(batch(request_id, pence));
    });
  };
  std::vector<std::string> names;
  for (auto [request_id, pence, here] : {std::tuple<const char*, int64_t, bool>{"m-1", 1, true},
                                         {"m-2", 2, true},
                                         {"m-3", 4, false},
                                         {"m-4", 8, true},
                                         {"m-5", 16, false},
                                         {"m-6", 32, false},
                                         {"m-7", 64, true}}) {
    absl::StatusOr<std::vector<v1::Posting>> posted =
        here ? commit(request_id, pence) : elsewhere(request_id, pence);
    ASSERT_TRUE(posted.ok()) << request_id << ": " << posted.status();
    ASSERT_EQ(posted->size(), 1u);
    names.push_back((*posted)[0].name());
  }
  // A retry through the committer of a request written elsewhere is answered from the record.
  absl::StatusOr<std::vector<v1::Posting>> retried = commit("m-6", 32);
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ((*retried)[0].name(), names[5]);
  committer.reset();
  absl::StatusOr<int64_t> first_id = Count(**first, "SELECT MIN(id) FROM posting");
  ASSERT_TRUE(first_id.ok()) << first_id.status();
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(names[i], absl::StrCat("postings/", *first_id + static_cast<int64_t>(i)));
  }
  EXPECT_EQ(*Count(**first, "SELECT COUNT(*) FROM posting"), 7);
  EXPECT_EQ(*Count(**first,
                   "SELECT amount_pence FROM total WHERE year = 2020 AND month = 6 AND kind = 2"),
            127);
  absl::StatusOr<LedgerVerification> verified =
      VerifyLedger(**first, std::string(32, 'k'), std::nullopt);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->postings_checked, 7);
  EXPECT_TRUE(verified->findings.empty()) << verified->findings.front().problem;
}

// A reversal retried through the committer in a later group is answered with its first reply,
// not refused as "already reversed" (its own first call reversed the posting), and so is every
// retry after a restart: each request is written once. On SQLite the committer takes requests
// for new without a lookup and runs a group again with lookups when one was seen before
// (runtime/storage/idempotency.h); a retry inside one group is answered from the kept record.
TEST_P(FinanceStoreEngineTest, RetriesInLaterGroupsAndAfterARestartAreAnsweredOnce) {
  dorset::testing::TempDir dir;
  std::string setting;
  if (GetParam() == Engine::kPostgres) {
    DORSET_REQUIRE_POSTGRES(dorset::testing::PostgresServer::Shared(), pg);
    absl::StatusOr<std::string> url = pg->CreateDatabase();
    ASSERT_TRUE(url.ok()) << url.status();
    setting = *url;
  }
  auto store = FinanceStore::Open(setting, dir.path());
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE(LoadSeedOnce(**store).ok());
  std::unique_ptr<PostingCommitter> committer = StartPostingCommitter(**store);
  const std::string scheme = "plans/dorset-stp/programmes/managing-demand/schemes/rightcare";
  const auto commit = [&](const std::string& request_id, std::optional<int64_t> reverses) {
    PostingJob job;
    job.batch.request_id = request_id;
    job.batch.principal = "tester";
    job.batch.content_hash = "hash-" + request_id;
    job.batch.postings.push_back(PostingInput{.field = "posting",
                                              .scheme = scheme,
                                              .year = 2020,
                                              .month = 7,
                                              .kind = 2,
                                              .amount = 500,
                                              .reason = "retried",
                                              .reverses = reverses});
    absl::Notification done;
    absl::StatusOr<std::vector<v1::Posting>> out = absl::UnknownError("not done");
    job.done = [&](absl::StatusOr<std::vector<v1::Posting>> result) {
      out = std::move(result);
      done.Notify();
    };
    committer->Submit(std::move(job));
    done.WaitForNotification();
    return out;
  };
  const auto name_of = [](const absl::StatusOr<std::vector<v1::Posting>>& posted) {
    return posted.ok() && posted->size() == 1 ? (*posted)[0].name() : posted.status().ToString();
  };
  absl::StatusOr<std::vector<v1::Posting>> posted = commit("post-1", std::nullopt);
  ASSERT_TRUE(posted.ok()) << posted.status();
  const std::string original = (*posted)[0].name();
  int64_t original_id = 0;
  ASSERT_TRUE(absl::SimpleAtoi(original.substr(original.rfind('/') + 1), &original_id));
  absl::StatusOr<std::vector<v1::Posting>> reversed = commit("reverse-1", original_id);
  ASSERT_TRUE(reversed.ok()) << reversed.status();
  const std::string reversal = (*reversed)[0].name();
  EXPECT_EQ(name_of(commit("post-1", std::nullopt)), original);
  EXPECT_EQ(name_of(commit("reverse-1", original_id)), reversal);
  // Another request reversing it again is refused (nothing recorded for it).
  EXPECT_EQ(commit("reverse-2", original_id).status().code(),
            absl::StatusCode::kFailedPrecondition);

  committer.reset();
  store->reset();
  store = FinanceStore::Open(setting, dir.path());
  ASSERT_TRUE(store.ok()) << store.status();
  committer = StartPostingCommitter(**store);
  EXPECT_EQ(name_of(commit("reverse-1", original_id)), reversal);
  EXPECT_EQ(name_of(commit("post-1", std::nullopt)), original);
  committer.reset();
  EXPECT_EQ(*Count(**store, "SELECT COUNT(*) FROM posting WHERE reason = 'retried'"), 2);
  EXPECT_EQ(*Count(**store,
                   "SELECT COUNT(*) FROM idempotency_records WHERE request_id IN "
                   "('post-1', 'reverse-1', 'reverse-2')"),
            2);
}

INSTANTIATE_TEST_SUITE_P(Engines, FinanceStoreEngineTest,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const ::testing::TestParamInfo<Engine>& info) {
                           return std::string(runtime::storage::EngineName(info.param));
                         });

TEST(FinanceStoreTest, AStoreNewerThanTheBinaryIsRefused) {
  dorset::testing::TempDir dir;
  ASSERT_NO_FATAL_FAILURE(WriteOldStore(dir.path()));
  {
    auto db = runtime::sqlite::Database::Open(dir.path() + "/finance.db");
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec("PRAGMA user_version = 99").ok());
  }
  auto store = FinanceStore::Open("", dir.path());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
}

}  // namespace
}  // namespace dorset::finance
