// SQLite's request log (runtime/storage/request_log.h, issue 16), on both engines (ctest labels
// `sqlite` and `postgres`): a request's record is found and answered whether it waits in the
// log, was merged into idempotency_record, was appended by another connection, or survived a
// restart; a rolled-back record is not answered; the view idempotency_records holds each record
// once. PostgreSQL keeps no log: the same answers from idempotency_record alone.
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engines.h"
#include "gtest/gtest.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/idempotency.h"
#include "storage_commit_test_migrations.h"

namespace dorset::runtime::storage {
namespace {

// Small, so that a handful of requests crosses a merge.
constexpr size_t kMergeAt = 4;

RequestKey Key(const std::string& id, const std::string& hash = "h") {
  return RequestKey{
      .request_id = id, .method = "Create", .principal = "alice", .request_hash = hash};
}

class RequestLogTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    url_ = "sqlite://" + dir_.File("log.db");
    DORSET_DATABASE_FOR_ENGINE(GetParam(), url_);
    db_ = Open();
  }

  std::unique_ptr<Database> Open() {
    absl::StatusOr<DatabaseUrl> parsed = ParseDatabaseUrl(url_, "", "");
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    OpenSettings settings;
    settings.sqlite_request_log_merge_at = kMergeAt;
    absl::StatusOr<std::unique_ptr<Database>> db =
        OpenDatabase(*parsed, settings, migrations::StorageCommitTestMigrations);
    EXPECT_TRUE(db.ok()) << db.status();
    return db.ok() ? *std::move(db) : nullptr;
  }

  // Stores key's record with `reply` in a transaction of its own (after a Find, as services do).
  static absl::Status Store(Database& db, const RequestKey& key, const std::string& reply) {
    return db.Write([&](Transaction& tx) -> absl::Status {
      ASSIGN_OR_RETURN(IdempotencyRecord record, IdempotencyRecord::Prepare(tx));
      ASSIGN_OR_RETURN(std::optional<std::string> found, record.Find(key));
      if (found.has_value()) return absl::AlreadyExistsError("stored already");
      return record.Store(key, reply, 1);
    });
  }

  // What Find answers for key: the stored reply, "none", or the error's code.
  static std::string Answer(Database& db, const RequestKey& key) {
    std::string answer;
    absl::Status status = db.Write([&](Transaction& tx) -> absl::Status {
      ASSIGN_OR_RETURN(IdempotencyRecord record, IdempotencyRecord::Prepare(tx));
      absl::StatusOr<std::optional<std::string>> found = record.Find(key);
      if (!found.ok()) {
        answer = absl::StatusCodeToString(found.status().code());
      } else {
        answer = found->value_or("none");
      }
      return absl::OkStatus();
    });
    EXPECT_TRUE(status.ok()) << status;
    return answer;
  }

  int64_t Count(const std::string& sql) {
    int64_t n = -1;
    absl::Status status = db_->Read([&](Transaction& tx) -> absl::Status {
      ASSIGN_OR_RETURN(Statement count, tx.Prepare(sql));
      ASSIGN_OR_RETURN(bool row, count.Step());
      if (row) n = count.Int(0);
      return absl::OkStatus();
    });
    EXPECT_TRUE(status.ok()) << status;
    return n;
  }

  testing::TempDir dir_;
  std::string url_;
  std::unique_ptr<Database> db_;
};

TEST_P(RequestLogTest, EveryRecordIsAnsweredBeforeAndAfterMerges) {
  ASSERT_NE(db_, nullptr);
  constexpr int kRequests = 11;  // two merges and three records left in the log
  for (int i = 0; i < kRequests; ++i) {
    ASSERT_TRUE(Store(*db_, Key(absl::StrCat("id-", i)), absl::StrCat("reply-", i)).ok());
  }
  for (int i = 0; i < kRequests; ++i) {
    EXPECT_EQ(Answer(*db_, Key(absl::StrCat("id-", i))), absl::StrCat("reply-", i)) << i;
    EXPECT_EQ(Answer(*db_, Key(absl::StrCat("id-", i), "other content")), "ALREADY_EXISTS") << i;
  }
  EXPECT_EQ(Answer(*db_, Key("never-sent")), "none");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM idempotency_records"), kRequests);
  EXPECT_EQ(Count("SELECT COUNT(DISTINCT request_id) FROM idempotency_records"), kRequests);
  // A stored id is refused a second record (Store above returns ALREADY_EXISTS after its Find).
  EXPECT_EQ(Store(*db_, Key("id-3"), "again").code(), absl::StatusCode::kAlreadyExists);
  if (GetParam() == Engine::kSqlite) {
    // Merged at the 5th and 9th transactions' start (4 records logged each time): 8 merged.
    EXPECT_EQ(Count("SELECT COUNT(*) FROM idempotency_record"), 8);
    EXPECT_EQ(Count("SELECT COUNT(*) FROM idempotency_log"), 3);
  }
}

TEST_P(RequestLogTest, ARestartFindsTheLoggedRecords) {
  ASSERT_NE(db_, nullptr);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(Store(*db_, Key(absl::StrCat("id-", i)), absl::StrCat("reply-", i)).ok());
  }
  db_.reset();
  db_ = Open();
  ASSERT_NE(db_, nullptr);
  if (GetParam() == Engine::kSqlite) {
    EXPECT_EQ(Count("SELECT COUNT(*) FROM idempotency_log"), 3);  // not merged yet
  }
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Answer(*db_, Key(absl::StrCat("id-", i))), absl::StrCat("reply-", i)) << i;
  }
}

TEST_P(RequestLogTest, AnotherConnectionsRecordsAndMergesAreSeen) {
  ASSERT_NE(db_, nullptr);
  std::unique_ptr<Database> other = Open();  // its own writer connection (and index)
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(Store(*db_, Key("mine"), "from db").ok());
  EXPECT_EQ(Answer(*other, Key("mine")), "from db");  // other's index caught up before
  ASSERT_TRUE(Store(*other, Key("theirs"), "from other").ok());
  EXPECT_EQ(Answer(*db_, Key("theirs")), "from other");
  // `other` logs enough to merge: `db_`'s index still names "mine" and "theirs" in the log,
  // which no longer holds them; they are found in idempotency_record.
  for (int i = 0; i < static_cast<int>(kMergeAt) + 1; ++i) {
    ASSERT_TRUE(Store(*other, Key(absl::StrCat("o-", i)), absl::StrCat("r-", i)).ok());
  }
  if (GetParam() == Engine::kSqlite) {
    EXPECT_GE(Count("SELECT COUNT(*) FROM idempotency_record"), 4);
  }
  EXPECT_EQ(Answer(*db_, Key("mine")), "from db");
  EXPECT_EQ(Answer(*db_, Key("theirs")), "from other");
  EXPECT_EQ(Store(*db_, Key("mine"), "twice").code(), absl::StatusCode::kAlreadyExists);
  for (int i = 0; i < static_cast<int>(kMergeAt) + 1; ++i) {
    EXPECT_EQ(Answer(*db_, Key(absl::StrCat("o-", i))), absl::StrCat("r-", i)) << i;
  }
  EXPECT_EQ(Count("SELECT COUNT(*) FROM idempotency_records"), kMergeAt + 3);
}

TEST_P(RequestLogTest, ARolledBackRecordIsNotAnswered) {
  ASSERT_NE(db_, nullptr);
  absl::Status failed = db_->Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(IdempotencyRecord record, IdempotencyRecord::Prepare(tx));
    RETURN_IF_ERROR(record.Store(Key("undone"), "never", 1));
    // Seen inside its own transaction...
    ASSIGN_OR_RETURN(std::optional<std::string> found, record.Find(Key("undone")));
    if (found != std::optional<std::string>("never")) return absl::InternalError("not seen");
    return absl::FailedPreconditionError("refused after the record was written");
  });
  EXPECT_EQ(failed.code(), absl::StatusCode::kFailedPrecondition) << failed;
  // ... and not after its rollback, before or after further records and a merge.
  EXPECT_EQ(Answer(*db_, Key("undone")), "none");
  for (int i = 0; i < static_cast<int>(kMergeAt) + 1; ++i) {
    ASSERT_TRUE(Store(*db_, Key(absl::StrCat("id-", i)), absl::StrCat("reply-", i)).ok());
  }
  EXPECT_EQ(Answer(*db_, Key("undone")), "none");
  ASSERT_TRUE(Store(*db_, Key("undone"), "now").ok());
  EXPECT_EQ(Answer(*db_, Key("undone")), "now");
}

TEST_P(RequestLogTest, AMergeRolledBackLeavesEveryRecordAnswered) {
  ASSERT_NE(db_, nullptr);
  for (int i = 0; i < static_cast<int>(kMergeAt); ++i) {
    ASSERT_TRUE(Store(*db_, Key(absl::StrCat("id-", i)), absl::StrCat("reply-", i)).ok());
  }
  // This transaction's Prepare merges the log (SQLite), then the transaction fails.
  absl::Status failed = db_->Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(IdempotencyRecord record, IdempotencyRecord::Prepare(tx));
    ASSIGN_OR_RETURN(std::optional<std::string> found, record.Find(Key("id-0")));
    if (found != std::optional<std::string>("reply-0")) return absl::InternalError("not found");
    return absl::FailedPreconditionError("refused after the merge");
  });
  EXPECT_EQ(failed.code(), absl::StatusCode::kFailedPrecondition) << failed;
  if (GetParam() == Engine::kSqlite) {
    EXPECT_EQ(Count("SELECT COUNT(*) FROM idempotency_log"), kMergeAt);  // as before the merge
  }
  for (int i = 0; i < static_cast<int>(kMergeAt); ++i) {
    EXPECT_EQ(Answer(*db_, Key(absl::StrCat("id-", i))), absl::StrCat("reply-", i)) << i;
  }
  EXPECT_EQ(Count("SELECT COUNT(*) FROM idempotency_records"), kMergeAt);
}

INSTANTIATE_TEST_SUITE_P(Engines, RequestLogTest,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const ::testing::TestParamInfo<Engine>& info) {
                           return std::string(EngineName(info.param));
                         });

}  // namespace
}  // namespace dorset::runtime::storage
