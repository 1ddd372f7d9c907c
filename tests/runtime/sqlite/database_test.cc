#include "runtime/sqlite/database.h"

#include "gtest/gtest.h"
#include "runtime/sqlite/storage_faults.h"
#include "runtime/status/status_macros.h"
#include "runtime/testing/temp_dir.h"

namespace dorset::runtime::sqlite {
namespace {

constexpr Migration kMigrations[] = {
    {1, "CREATE TABLE item(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"},
    {2, "ALTER TABLE item ADD COLUMN size INTEGER;"},
};

class DatabaseTest : public ::testing::Test {
 protected:
  std::unique_ptr<Database> Open() {
    auto db = Database::Open(dir_.File("store.db"));
    EXPECT_TRUE(db.ok()) << db.status();
    return *std::move(db);
  }
  int64_t Count(Database& db) {
    auto stmt = db.Prepare("SELECT COUNT(*) FROM item");
    EXPECT_TRUE(stmt.ok());
    EXPECT_TRUE(*stmt->Step());
    return stmt->Int(0);
  }
  dorset::testing::TempDir dir_;
};

TEST_F(DatabaseTest, OpensInWalModeWithFullSync) {
  auto db = Open();
  auto mode = db->Prepare("PRAGMA journal_mode");
  ASSERT_TRUE(mode.ok());
  ASSERT_TRUE(*mode->Step());
  EXPECT_EQ(mode->Text(0), "wal");
  auto sync = db->Prepare("PRAGMA synchronous");
  ASSERT_TRUE(*sync->Step());
  EXPECT_EQ(sync->Int(0), 2);  // FULL
}

TEST_F(DatabaseTest, MigrationsApplyOnceAndInOrder) {
  {
    auto db = Open();
    ASSERT_TRUE(db->Migrate(kMigrations).ok());
    EXPECT_EQ(*db->SchemaVersion(), 2);
  }
  auto db = Open();
  ASSERT_TRUE(db->Migrate(kMigrations).ok());  // nothing to do the second time
  EXPECT_EQ(*db->SchemaVersion(), 2);

  constexpr Migration kGap[] = {{1, "SELECT 1"}, {3, "SELECT 1"}};
  EXPECT_EQ(db->Migrate(kGap).code(), absl::StatusCode::kInternal);
  // An older binary (knowing only migration 1) must refuse a newer store.
  EXPECT_EQ(db->Migrate(std::span(kMigrations, 1)).code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(DatabaseTest, TransactionRollsBackUnlessCommitted) {
  auto db = Open();
  ASSERT_TRUE(db->Migrate(kMigrations).ok());
  {
    auto tx = Transaction::Begin(*db);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(db->Exec("INSERT INTO item(name) VALUES ('dropped')").ok());
  }
  EXPECT_EQ(Count(*db), 0);
  {
    auto tx = Transaction::Begin(*db);
    ASSERT_TRUE(db->Exec("INSERT INTO item(name) VALUES ('kept')").ok());
    ASSERT_TRUE(tx->Commit().ok());
  }
  EXPECT_EQ(Count(*db), 1);
}

TEST_F(DatabaseTest, BindsStepsAndMapsConstraintViolations) {
  auto db = Open();
  ASSERT_TRUE(db->Migrate(kMigrations).ok());
  auto insert = db->Prepare("INSERT INTO item(name, size) VALUES (?, ?)");
  ASSERT_TRUE(insert.ok());
  insert->Bind(1, "a").Bind(2, std::optional<int64_t>(7));
  ASSERT_TRUE(insert->Run().ok());
  insert->Reset();
  insert->Bind(1, "a").Bind(2, std::optional<int64_t>());
  EXPECT_EQ(insert->Run().code(), absl::StatusCode::kAlreadyExists);

  auto select = db->Prepare("SELECT name, size FROM item WHERE name = ?");
  select->Bind(1, std::string("a"));
  ASSERT_TRUE(*select->Step());
  EXPECT_EQ(select->Text(0), "a");
  EXPECT_EQ(select->OptionalInt(1), 7);
  EXPECT_FALSE(*select->Step());

  EXPECT_FALSE(db->Prepare("SELECT nonsense FROM").ok());
}

// A default std::string_view has no data pointer, and sqlite3_bind_text binds a null pointer as
// SQL NULL. An empty text must stay an empty text (an audit event with an empty field, unpacked
// from an outbox row, failed the trail's NOT NULL columns before): NULL comes only from BindNull.
TEST_F(DatabaseTest, AnEmptyViewBindsAnEmptyTextNotNull) {
  auto db = Open();
  ASSERT_TRUE(db->Exec("CREATE TABLE t(copied TEXT NOT NULL, kept TEXT NOT NULL)").ok());
  auto insert = db->Prepare("INSERT INTO t(copied, kept) VALUES (?, ?)");
  ASSERT_TRUE(insert.ok());
  insert->Bind(1, std::string_view()).BindKept(2, std::string_view());
  ASSERT_TRUE(insert->Run().ok());
  auto select = db->Prepare("SELECT copied, kept, typeof(copied), typeof(kept) FROM t");
  ASSERT_TRUE(select.ok());
  ASSERT_TRUE(*select->Step());
  EXPECT_FALSE(select->IsNull(0));
  EXPECT_FALSE(select->IsNull(1));
  EXPECT_EQ(select->Text(2), "text");
  EXPECT_EQ(select->Text(3), "text");
}

TEST_F(DatabaseTest, CommittedRowsSurviveReopen) {
  {
    auto db = Open();
    ASSERT_TRUE(db->Migrate(kMigrations).ok());
    ASSERT_TRUE(db->Exec("INSERT INTO item(name) VALUES ('durable')").ok());
  }
  auto db = Open();
  EXPECT_EQ(Count(*db), 1);
}

// Issue 10 item 13: storage faults get one code in every service and are noted for readiness.
TEST_F(DatabaseTest, AFullStoreIsResourceExhaustedNotedAndClearedByTheNextCommit) {
  auto db = Open();
  ASSERT_TRUE(db->Migrate(kMigrations).ok());
  // A full disk without privileges: the store may not grow past its current size.
  ASSERT_TRUE(db->Exec("PRAGMA max_page_count = 3").ok());
  absl::Status full;
  for (int i = 0; i < 1000 && full.ok(); ++i) {
    auto tx = Transaction::Begin(*db);
    ASSERT_TRUE(tx.ok());
    auto insert = db->Prepare("INSERT INTO item(name) VALUES (?)");
    insert->Bind(1, std::string(500, 'a' + i % 26) + std::to_string(i));
    full = insert->Run();
    if (full.ok()) full = tx->Commit();
  }
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted) << full;
  EXPECT_NE(full.message().find("store.db is full"), std::string_view::npos) << full.message();
  EXPECT_EQ(full.message().find("INSERT"), std::string_view::npos);  // no SQL for the caller
  auto fault = ActiveStorageFault(dir_.path(), absl::Seconds(60));
  ASSERT_TRUE(fault.has_value());
  EXPECT_EQ(fault->status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_FALSE(ActiveStorageFault(dir_.path() + "/elsewhere", absl::Seconds(60)).has_value());
  // A group that failed as a whole keeps the code.
  EXPECT_EQ(WriteFailure(full, "not stored").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(WriteFailure(absl::InternalError("x"), "not stored").code(),
            absl::StatusCode::kInternal);

  // Room again: the next commit resolves the fault.
  ASSERT_TRUE(db->Exec("PRAGMA max_page_count = 100000").ok());
  auto tx = Transaction::Begin(*db);
  ASSERT_TRUE(tx.ok());
  ASSERT_TRUE(db->Exec("INSERT INTO item(name) VALUES ('after')").ok());
  ASSERT_TRUE(tx->Commit().ok());
  EXPECT_FALSE(ActiveStorageFault(dir_.path(), absl::Seconds(60)).has_value());
}

TEST_F(DatabaseTest, AReadOnlyStoreIsUnavailable) {
  {
    auto db = Open();
    ASSERT_TRUE(db->Migrate(kMigrations).ok());
  }
  OpenOptions options;
  options.read_only = true;
  auto db = Database::Open(dir_.File("store.db"), options);
  ASSERT_TRUE(db.ok()) << db.status();
  absl::Status write = (*db)->Exec("INSERT INTO item(name) VALUES ('x')");
  EXPECT_EQ(write.code(), absl::StatusCode::kUnavailable) << write;
  EXPECT_TRUE(ActiveStorageFault(dir_.path(), absl::Seconds(60)).has_value());
}

}  // namespace
}  // namespace dorset::runtime::sqlite
