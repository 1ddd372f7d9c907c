// Step 6 of the finance store (migrations/{sqlite,postgres}/0006_posting_reverses_partial.sql):
// the `reverses` unique index made partial. A store at step 5 with postings, a reversal and
// chain links is migrated on each engine: its rows are as they were, the index holds only the
// postings that reverse one, and a posting is still reversed at most once, refused by the
// database itself (a second row naming it) and by the ledger (FAILED_PRECONDITION); the
// table's immutability triggers and the keys naming it still hold.
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "finance_migrations.h"
#include "gtest/gtest.h"
#include "runtime/storage/open.h"
#include "runtime/testing/postgres_server.h"
#include "runtime/testing/temp_dir.h"
#include "services/finance/storage/ledger.h"
#include "services/finance/storage/store.h"
#include "tests/runtime/storage/engines.h"

namespace dorset::finance {
namespace {

using runtime::storage::Engine;

constexpr int kStepBefore = 5;  // the schema step before the partial index

// A plan, a programme and a scheme (9); postings 41 and 43, 42 reversing 41; a chain link each.
constexpr const char* kRows[] = {
    "INSERT INTO node(id, name, kind, display_name, create_micros, update_micros) VALUES (7, "
    "'plans/old', 1, 'Old plan', 1, 1)",
    "INSERT INTO node(id, name, kind, plan_id, parent_id, display_name, create_micros, "
    "update_micros) VALUES (8, 'plans/old/programmes/p', 2, 7, 7, 'P', 1, 1), (9, "
    "'plans/old/programmes/p/schemes/s', 3, 7, 8, 'S', 1, 1)",
    "INSERT INTO posting(id, scheme_id, year, month, kind, amount_pence, principal, "
    "create_micros, reason, request_id, reverses) VALUES (41, 9, 2019, 4, 2, 1234, 'old', 1, "
    "'r', 'req-1', NULL), (42, 9, 2019, 4, 2, -1234, 'old', 2, 'wrong', 'req-2', 41), (43, 9, "
    "2019, 5, 2, 500, 'old', 3, 'r', 'req-3', NULL)",
    "INSERT INTO posting_chain(posting_id, year, prev_hash, hash) VALUES (41, 2019, 'h0', 'h1'), "
    "(42, 2019, 'h1', 'h2'), (43, 2019, 'h2', 'h3')",
};

// The database setting for FinanceStore::Open: a store at step 5 holding kRows.
absl::StatusOr<std::string> WriteStepFiveStore(Engine engine, const std::string& dir) {
  std::string setting;
  if (engine == Engine::kPostgres) {
    absl::StatusOr<dorset::testing::PostgresServer*> pg = dorset::testing::PostgresServer::Shared();
    if (!pg.ok()) return pg.status();
    absl::StatusOr<std::string> url = (*pg)->CreateDatabase();
    if (!url.ok()) return url.status();
    setting = *url;
  }
  absl::StatusOr<runtime::storage::DatabaseUrl> parsed =
      runtime::storage::ParseDatabaseUrl(setting, dir, "finance");
  if (!parsed.ok()) return parsed.status();
  runtime::storage::DatabaseOptions options;
  options.migrations = migrations::FinanceMigrations(engine).first(kStepBefore);
  absl::StatusOr<std::unique_ptr<runtime::storage::Database>> db =
      runtime::storage::OpenDatabase(*parsed, {}, nullptr, options);
  if (!db.ok()) return db.status();
  absl::Status written = (*db)->Write([](Transaction& tx) -> absl::Status {
    for (const char* sql : kRows) {
      if (absl::Status s = tx.Exec(sql); !s.ok()) return s;
    }
    return absl::OkStatus();
  });
  if (!written.ok()) return written;
  return setting;
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

absl::Status Exec(FinanceStore& store, const std::string& sql) {
  return store.Write([&](Transaction& tx) { return tx.Exec(sql); });
}

// A posting of 100 pence to scheme 9 at 2019 M6 reversing `reverses`, straight into the table.
std::string InsertPosting(int64_t id, std::optional<int64_t> reverses) {
  return absl::StrCat(
      "INSERT INTO posting(id, scheme_id, year, month, kind, amount_pence, principal, "
      "create_micros, reason, request_id, reverses) VALUES (",
      id, ", 9, 2019, 6, 2, 100, 'direct', 9, 'r', 'direct-", id, "', ",
      reverses ? absl::StrCat(*reverses) : "NULL", ")");
}

class FinanceReversesIndexTest : public ::testing::TestWithParam<Engine> {};

TEST_P(FinanceReversesIndexTest, AStoreWithReversalsMigratesAndAPostingIsStillReversedOnce) {
  dorset::testing::TempDir dir;
  if (GetParam() == Engine::kPostgres) {
    DORSET_REQUIRE_POSTGRES(dorset::testing::PostgresServer::Shared(), pg);
    (void)pg;
  }
  absl::StatusOr<std::string> setting = WriteStepFiveStore(GetParam(), dir.path());
  ASSERT_TRUE(setting.ok()) << setting.status();
  for (int open = 0; open < 2; ++open) {  // the second open finds step 6 applied
    auto store = FinanceStore::Open(*setting, dir.path());
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_EQ(*Count(**store, "SELECT COUNT(*) FROM schema_migrations WHERE version = 6"), 1);
  }
  auto opened = FinanceStore::Open(*setting, dir.path());
  ASSERT_TRUE(opened.ok()) << opened.status();
  FinanceStore& store = **opened;

  // The rows as they were.
  EXPECT_EQ(*Count(store,
                   "SELECT COUNT(*) FROM posting WHERE (id = 41 AND amount_pence = 1234 AND "
                   "reverses IS NULL AND request_id = 'req-1') OR (id = 42 AND amount_pence = "
                   "-1234 AND reverses = 41 AND reason = 'wrong') OR (id = 43 AND month = 5 AND "
                   "reverses IS NULL)"),
            3);
  EXPECT_EQ(*Count(store, "SELECT COUNT(*) FROM posting"), 3);
  EXPECT_EQ(*Count(store, "SELECT COUNT(*) FROM posting_chain"), 3);

  // The one unique index on reverses is partial: no index or constraint covers NULLs.
  if (GetParam() == Engine::kSqlite) {
    EXPECT_EQ(*Count(store,
                     "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = "
                     "'posting' AND sql LIKE '%UNIQUE%reverses%WHERE reverses IS NOT NULL%'"),
              1);
    EXPECT_EQ(*Count(store,
                     "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = "
                     "'posting' AND sql IS NULL"),  // an automatic index (UNIQUE, inline)
              0);
  } else {
    EXPECT_EQ(*Count(store,
                     "SELECT COUNT(*) FROM pg_indexes WHERE tablename = 'posting' AND indexdef "
                     "LIKE '%UNIQUE%(reverses) WHERE (reverses IS NOT NULL)'"),
              1);
    EXPECT_EQ(*Count(store,
                     "SELECT COUNT(*) FROM pg_indexes WHERE tablename = 'posting' AND indexdef "
                     "LIKE '%(reverses)' AND indexdef NOT LIKE '%WHERE%'"),
              0);
  }

  // Through the ledger: 41 is already reversed; 43 is reversed once, then refused.
  const auto reverse = [&](const std::string& request_id, int64_t original) {
    PostingBatch batch;
    batch.request_id = request_id;
    batch.principal = "tester";
    batch.content_hash = request_id;
    batch.postings.push_back(PostingInput{.field = "posting",
                                          .scheme = "",
                                          .year = 0,
                                          .month = 0,
                                          .kind = 0,
                                          .amount = 0,
                                          .reason = "correction",
                                          .reverses = original});
    return store.Write([&](Transaction& tx) -> absl::StatusOr<std::vector<v1::Posting>> {
      absl::StatusOr<std::unique_ptr<LedgerWriter>> ledger = LedgerWriter::Create(tx);
      if (!ledger.ok()) return ledger.status();
      return (*ledger)->Apply(batch);
    });
  };
  EXPECT_EQ(reverse("again-41", 41).status().code(), absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<std::vector<v1::Posting>> reversed = reverse("first-43", 43);
  ASSERT_TRUE(reversed.ok()) << reversed.status();
  ASSERT_EQ(reversed->size(), 1u);
  EXPECT_EQ((*reversed)[0].reverses(), "postings/43");
  EXPECT_EQ((*reversed)[0].amount().pence(), -500);
  EXPECT_EQ(reverse("again-43", 43).status().code(), absl::StatusCode::kFailedPrecondition);
  // The database refuses a second reversal of 41 or 43 written past the ledger, and any number of
  // postings reversing nothing are fine.
  EXPECT_EQ(Exec(store, InsertPosting(50, 41)).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Exec(store, InsertPosting(50, 43)).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(Exec(store, InsertPosting(50, std::nullopt)).ok());
  EXPECT_TRUE(Exec(store, InsertPosting(51, std::nullopt)).ok());
  // The keys naming posting hold on the new table: a reversal of a posting that does not
  // exist, a link for one, are refused.
  EXPECT_FALSE(Exec(store, InsertPosting(52, 999)).ok());
  EXPECT_FALSE(
      Exec(store,
           "INSERT INTO posting_chain(posting_id, year, prev_hash, hash) VALUES (999, 2019, 'a', "
           "'b')")
          .ok());
  // Postings are still immutable.
  EXPECT_FALSE(Exec(store, "UPDATE posting SET amount_pence = 0 WHERE id = 41").ok());
  EXPECT_FALSE(Exec(store, "DELETE FROM posting WHERE id = 43").ok());

  EXPECT_EQ(*Count(store, "SELECT COUNT(*) FROM posting WHERE reverses = 43"), 1);
  EXPECT_EQ(*Count(store, "SELECT COUNT(*) FROM posting WHERE reverses IS NOT NULL"), 2);
}

INSTANTIATE_TEST_SUITE_P(Engines, FinanceReversesIndexTest,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const ::testing::TestParamInfo<Engine>& info) {
                           return std::string(runtime::storage::EngineName(info.param));
                         });

}  // namespace
}  // namespace dorset::finance
