// Statement::Send on both engines (part of the contract suite, labels `sqlite` and `postgres`):
// statements sent without waiting (on PostgreSQL a libpq pipeline) are applied in order with
// whatever runs next, read back by the same transaction, committed or rolled back with it, and a
// sent statement's failure fails the transaction at its next statement or at its commit, with
// the failed statement's own error; the connection then serves on.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "engines.h"
#include "gtest/gtest.h"
#include "runtime/status/status_macros.h"

namespace dorset::runtime::storage {
namespace {

class StorageSend : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    std::string url = "sqlite://" + dir_.File("test.db");
    DORSET_DATABASE_FOR_ENGINE(GetParam(), url);
    absl::StatusOr<std::unique_ptr<Database>> db = OpenUrl(url);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
  }

  // Sends INSERTs of ids [first, first + n) named "<prefix><id>" through one prepared statement.
  static absl::Status SendInserts(Transaction& tx, int64_t first, int n,
                                  const std::string& prefix) {
    ASSIGN_OR_RETURN(Statement insert, tx.Prepare("INSERT INTO item (id, name) VALUES (?, ?)"));
    for (int64_t id = first; id < first + n; ++id) {
      insert.Reset();
      RETURN_IF_ERROR(insert.Bind(1, id).Bind(2, absl::StrCat(prefix, id)).Send());
    }
    return absl::OkStatus();
  }

  static absl::StatusOr<int64_t> Count(Transaction& tx) {
    ASSIGN_OR_RETURN(Statement count, tx.Prepare("SELECT COUNT(*) FROM item"));
    ASSIGN_OR_RETURN(bool row, count.Step());
    if (!row) return absl::InternalError("no count");
    return count.Int(0);
  }

  int64_t CountCommitted() {
    int64_t n = -1;
    absl::Status read = db_->Read([&](Transaction& tx) -> absl::Status {
      ASSIGN_OR_RETURN(n, Count(tx));
      return absl::OkStatus();
    });
    EXPECT_TRUE(read.ok()) << read;
    return n;
  }

  testing::TempDir dir_;
  std::unique_ptr<Database> db_;
};

TEST_P(StorageSend, SentStatementsAreAppliedInOrderAndSeenByTheNextStatement) {
  int64_t seen_inside = -1;
  ASSERT_TRUE(db_->Write([&](Transaction& tx) -> absl::Status {
                   // The transaction's first statement is sent (on PostgreSQL with its BEGIN).
                   RETURN_IF_ERROR(SendInserts(tx, 1, 50, "a-"));
                   ASSIGN_OR_RETURN(seen_inside, Count(tx));
                   // Sent after a read, then an update that depends on the rows sent before it.
                   RETURN_IF_ERROR(SendInserts(tx, 51, 50, "b-"));
                   ASSIGN_OR_RETURN(Statement update,
                                    tx.Prepare("UPDATE item SET amount = id * 2 WHERE id > ?"));
                   return update.Bind(1, 75).Send();
                 })
                  .ok());
  EXPECT_EQ(seen_inside, 50);
  EXPECT_EQ(CountCommitted(), 100);
  int64_t doubled = -1;
  ASSERT_TRUE(db_->Read([&](Transaction& tx) -> absl::Status {
                   ASSIGN_OR_RETURN(Statement sum, tx.Prepare("SELECT SUM(amount) FROM item"));
                   ASSIGN_OR_RETURN(bool row, sum.Step());
                   if (row) doubled = sum.Int(0);
                   return absl::OkStatus();
                 })
                  .ok());
  EXPECT_EQ(doubled, (76 + 100) * 25);  // 2 x the sum of ids 76..100
}

TEST_P(StorageSend, ASentStatementsFailureFailsTheTransactionWithItsOwnError) {
  ASSERT_TRUE(db_->Write([&](Transaction& tx) { return SendInserts(tx, 1, 1, "taken-"); }).ok());
  // The duplicate id is sent in the middle; the commit (no statement after it) reports it.
  absl::Status at_commit = db_->Write([&](Transaction& tx) -> absl::Status {
    RETURN_IF_ERROR(SendInserts(tx, 2, 5, "new-"));
    RETURN_IF_ERROR(SendInserts(tx, 1, 1, "again-"));
    return SendInserts(tx, 7, 5, "late-");
  });
  EXPECT_EQ(at_commit.code(), absl::StatusCode::kAlreadyExists) << at_commit;
  EXPECT_EQ(CountCommitted(), 1);

  // A statement after the failed one is not run and returns the failure (on SQLite, where Send
  // runs at once, the Send itself does).
  absl::Status sent;
  absl::Status next_statement;
  absl::Status in_read = db_->Write([&](Transaction& tx) -> absl::Status {
    sent = SendInserts(tx, 1, 1, "again-");
    if (!sent.ok()) return sent;
    next_statement = Count(tx).status();
    return next_statement;
  });
  const absl::Status reported = sent.ok() ? next_statement : sent;
  EXPECT_EQ(reported.code(), absl::StatusCode::kAlreadyExists) << reported;
  EXPECT_EQ(sent.ok(), GetParam() == Engine::kPostgres) << sent;
  EXPECT_EQ(in_read.code(), absl::StatusCode::kAlreadyExists) << in_read;

  // A caller that sends, then fails on its own: nothing it sent is kept.
  absl::Status own = db_->Write([&](Transaction& tx) -> absl::Status {
    RETURN_IF_ERROR(SendInserts(tx, 20, 5, "dropped-"));
    return absl::FailedPreconditionError("the caller's own reason");
  });
  EXPECT_EQ(own.code(), absl::StatusCode::kFailedPrecondition) << own;
  EXPECT_EQ(CountCommitted(), 1);

  // Every connection serves on, with and without a pipeline.
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(db_->Write([&](Transaction& tx) { return SendInserts(tx, 100 + i, 1, "x-"); }).ok())
        << i;
  }
  EXPECT_EQ(CountCommitted(), 21);
}

INSTANTIATE_TEST_SUITE_P(Engines, StorageSend,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const ::testing::TestParamInfo<Engine>& info) {
                           return std::string(EngineName(info.param));
                         });

}  // namespace
}  // namespace dorset::runtime::storage
