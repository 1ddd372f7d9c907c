// The request record's deferred lookups (runtime/storage/idempotency.h, issue 16), on both engines
// (ctest labels `sqlite` and `postgres`): a group committer's first attempt on SQLite takes its
// requests for new without reading the table, and a request seen before - retried in a later
// group, refused as new, reusing its id with other content, or retried after a restart - is still
// answered exactly once, by the group run again with lookups. On PostgreSQL nothing is deferred.
#include "runtime/storage/idempotency.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "engines.h"
#include "gtest/gtest.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/group_commit.h"
#include "storage_commit_test_migrations.h"

namespace dorset::runtime::storage {
namespace {

struct Job {
  int64_t id = 0;
  RequestKey key{};
  bool refuse_if_new = false;  // refused when not seen before (as an "already reversed" check)
  // Holds the writer on this job's group until `hold` is notified (SubmitGroup's gate).
  std::shared_ptr<absl::Notification> hold{}, holding{};
  std::optional<std::string> reply{};  // set by the group function: the stored reply of a retry
  std::function<void(Job&, const absl::Status&)> done{};
};

struct Outcome {
  absl::Status status = absl::UnknownError("not completed");
  std::optional<std::string> reply;
};

class DeferredLookupsTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    url_ = "sqlite://" + dir_.File("commit.db");
    DORSET_DATABASE_FOR_ENGINE(GetParam(), url_);
    Open();
  }

  void Open() {
    committer_.reset();
    db_.reset();
    absl::StatusOr<DatabaseUrl> parsed = ParseDatabaseUrl(url_, "", "");
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    // SQLite: a request log merged every 3 records, so that retries find records both in the
    // log and merged (request_log.h).
    OpenSettings settings;
    settings.sqlite_request_log_merge_at = 3;
    absl::StatusOr<std::unique_ptr<Database>> db =
        OpenDatabase(*parsed, settings, migrations::StorageCommitTestMigrations);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    committer_ = std::make_unique<GroupCommitter<Job>>(
        *db_, GroupCommitOptions{}, &WriteJobs,
        [](Job& job, const absl::Status& status) { job.done(job, status); });
  }

  // A job's row (its name the request_id) and its record, or the stored reply of a retry.
  static absl::Status WriteJobs(Transaction& tx, std::span<Job> jobs,
                                std::vector<absl::Status>& results) {
    if (jobs[0].hold != nullptr) {
      if (!jobs[0].holding->HasBeenNotified()) jobs[0].holding->Notify();
      jobs[0].hold->WaitForNotification();
    }
    ASSIGN_OR_RETURN(IdempotencyRecord record,
                     IdempotencyRecord::Prepare(tx, IdempotencyRecord::Lookups::kDeferred));
    ASSIGN_OR_RETURN(Statement insert, tx.Prepare("INSERT INTO job (id, name) VALUES (?, ?)"));
    for (size_t i = 0; i < jobs.size(); ++i) {
      jobs[i].reply.reset();
      absl::StatusOr<std::optional<std::string>> found = record.Find(jobs[i].key);
      if (!found.ok()) {
        results[i] = found.status();
        continue;
      }
      if (found->has_value()) {
        jobs[i].reply = **found;
        continue;
      }
      if (jobs[i].refuse_if_new) {
        results[i] = absl::FailedPreconditionError("refused as new");
        continue;
      }
      insert.Reset();
      RETURN_IF_ERROR(insert.Bind(1, jobs[i].id).Bind(2, jobs[i].key.request_id).Run());
      record.StoreLater(jobs[i].key, absl::StrCat("reply-", jobs[i].id), 1);
    }
    return record.Flush();
  }

  static RequestKey Key(int n, const std::string& hash = "h") {
    return RequestKey{.request_id = absl::StrCat("req-", n),
                      .method = "CreateThing",
                      .principal = "alice",
                      .request_hash = hash};
  }

  // Submits `jobs` so that they are written as ONE group (the writer is held on a gate job, its
  // own group, until all are queued) and waits for their outcomes.
  std::vector<Outcome> SubmitGroup(std::vector<Job> jobs) {
    std::vector<Outcome> out(jobs.size());
    std::vector<absl::Notification> finished(jobs.size() + 1);
    auto hold = std::make_shared<absl::Notification>();
    auto holding = std::make_shared<absl::Notification>();
    committer_->Submit(Job{
        .id = next_id_++, .hold = hold, .holding = holding, .done = [&](Job&, const absl::Status&) {
          finished.back().Notify();
        }});
    EXPECT_TRUE(holding->WaitForNotificationWithTimeout(absl::Seconds(60)));
    for (size_t i = 0; i < jobs.size(); ++i) {
      jobs[i].done = [&out, &finished, i](Job& job, const absl::Status& status) {
        out[i] = {status, job.reply};
        finished[i].Notify();
      };
      committer_->Submit(std::move(jobs[i]));
    }
    hold->Notify();
    for (absl::Notification& f : finished) {
      EXPECT_TRUE(f.WaitForNotificationWithTimeout(absl::Seconds(60)));
    }
    return out;
  }
  Job New(int n, bool refuse_if_new = false) {
    return Job{.id = next_id_++, .key = Key(n), .refuse_if_new = refuse_if_new};
  }

  int64_t Rows(int n) {
    int64_t rows = -1;
    EXPECT_TRUE(db_->Read([&](Transaction& tx) -> absl::Status {
                     ASSIGN_OR_RETURN(Statement count,
                                      tx.Prepare("SELECT COUNT(*) FROM job WHERE name = ?"));
                     count.Bind(1, absl::StrCat("req-", n));
                     ASSIGN_OR_RETURN(bool row, count.Step());
                     if (row) rows = count.Int(0);
                     return absl::OkStatus();
                   })
                    .ok());
    return rows;
  }
  bool Defers() const { return GetParam() == Engine::kSqlite; }

  testing::TempDir dir_;
  std::string url_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<GroupCommitter<Job>> committer_;
  int64_t next_id_ = 1;
};

TEST_P(DeferredLookupsTest, ARequestSeenInAnEarlierGroupOrBeforeARestartIsAnsweredOnce) {
  // First group: five new requests.
  std::vector<Job> first;
  for (int n = 0; n < 5; ++n) first.push_back(New(n));
  const std::vector<Outcome> created = SubmitGroup(std::move(first));
  for (const Outcome& o : created) {
    ASSERT_TRUE(o.status.ok()) << o.status;
    EXPECT_FALSE(o.reply.has_value());
  }
  EXPECT_EQ(committer_->groups_looked_up_again(), 0);

  // A later group: new requests beside a retry, a retry its checks would refuse as new, and an
  // id reused with other content. The retries are answered with the first replies (the group run
  // again with lookups on SQLite), the reuse is refused, the new ones are written once.
  std::vector<Job> second;
  second.push_back(New(5));
  second.push_back(New(1));
  second.push_back(New(6));
  second.push_back(New(2, /*refuse_if_new=*/true));
  second.push_back(Job{.id = next_id_++, .key = Key(3, "other")});
  const std::vector<Outcome> mixed = SubmitGroup(std::move(second));
  ASSERT_TRUE(mixed[0].status.ok()) << mixed[0].status;
  EXPECT_FALSE(mixed[0].reply.has_value());
  ASSERT_TRUE(mixed[1].status.ok()) << mixed[1].status;
  EXPECT_EQ(mixed[1].reply.value_or("none"), "reply-2");  // the first req-1 was job 2
  ASSERT_TRUE(mixed[2].status.ok()) << mixed[2].status;
  EXPECT_FALSE(mixed[2].reply.has_value());
  ASSERT_TRUE(mixed[3].status.ok()) << mixed[3].status;
  EXPECT_EQ(mixed[3].reply.value_or("none"), "reply-3");
  EXPECT_EQ(mixed[4].status.code(), absl::StatusCode::kAlreadyExists) << mixed[4].status;
  for (int n : {1, 2, 3, 5, 6}) EXPECT_EQ(Rows(n), 1) << n;
  EXPECT_EQ(committer_->groups_looked_up_again(), Defers() ? 1 : 0);

  // A retry of the refused one alone, as its own group: the refusal's lookup finds the record.
  std::vector<Job> alone;
  alone.push_back(New(2, /*refuse_if_new=*/true));
  const std::vector<Outcome> refused_retry = SubmitGroup(std::move(alone));
  ASSERT_TRUE(refused_retry[0].status.ok()) << refused_retry[0].status;
  EXPECT_EQ(refused_retry[0].reply.value_or("none"), "reply-3");
  EXPECT_EQ(committer_->groups_looked_up_again(), Defers() ? 2 : 0);

  // Only new requests: a refusal of a new one, and a retry inside its own group, need no second
  // run (the kept record answers the retry; the lookup finds nothing for the refused one).
  std::vector<Job> fresh;
  fresh.push_back(New(7));
  fresh.push_back(New(8, /*refuse_if_new=*/true));
  fresh.push_back(New(7));
  const std::vector<Outcome> news = SubmitGroup(std::move(fresh));
  ASSERT_TRUE(news[0].status.ok()) << news[0].status;
  EXPECT_FALSE(news[0].reply.has_value());
  EXPECT_EQ(news[1].status.code(), absl::StatusCode::kFailedPrecondition) << news[1].status;
  ASSERT_TRUE(news[2].status.ok()) << news[2].status;
  EXPECT_TRUE(news[2].reply.has_value());
  EXPECT_EQ(Rows(7), 1);
  EXPECT_EQ(Rows(8), 0);
  EXPECT_EQ(committer_->groups_looked_up_again(), Defers() ? 2 : 0);

  // After a restart (a new database and committer on the same store): the records are durable
  // with their changes, so retries are still answered with their first replies, once.
  Open();
  std::vector<Job> after;
  after.push_back(New(9));
  after.push_back(New(0));
  after.push_back(New(4, /*refuse_if_new=*/true));
  after.push_back(New(8));  // refused before, so new now
  const std::vector<Outcome> restarted = SubmitGroup(std::move(after));
  for (const Outcome& o : restarted) ASSERT_TRUE(o.status.ok()) << o.status;
  EXPECT_FALSE(restarted[0].reply.has_value());
  EXPECT_EQ(restarted[1].reply.value_or("none"), "reply-1");
  EXPECT_EQ(restarted[2].reply.value_or("none"), "reply-5");
  EXPECT_FALSE(restarted[3].reply.has_value());
  for (int n : {0, 4, 8, 9}) EXPECT_EQ(Rows(n), 1) << n;
  EXPECT_EQ(committer_->groups_looked_up_again(), Defers() ? 1 : 0);
}

// Outside a group committer (or with Lookups::kFirst) Find reads the table as before. A record
// that deferred its lookup meets a stored request at its INSERT, by Store or by Flush, and asks
// for a run with lookups (RequestSeenAgain), never a second record.
TEST_P(DeferredLookupsTest, OnlyARecordAskingForItInACommitterThatAllowsItDefers) {
  // A record in idempotency_record (on SQLite, as merged from the request log): the one kind a
  // deferred Find cannot answer from memory, which SQLite's log records are
  // (ARecordInTheRequestLogIsAnsweredWithoutDeferring).
  ASSERT_TRUE(db_->Write([&](Transaction& tx) -> absl::Status {
                   return tx.Exec(
                       "INSERT INTO idempotency_record (request_id, method, principal, "
                       "request_hash, reply, create_micros) VALUES ('req-1', 'CreateThing', "
                       "'alice', 'h', 'first', 1)");
                 })
                  .ok());
  for (const bool allow : {false, true}) {
    for (const auto lookups :
         {IdempotencyRecord::Lookups::kFirst, IdempotencyRecord::Lookups::kDeferred}) {
      for (const bool later : {false, true}) {
        SCOPED_TRACE(absl::StrCat("allowed ", allow, ", deferred ",
                                  lookups == IdempotencyRecord::Lookups::kDeferred, ", flushed ",
                                  later));
        const bool defers = allow && lookups == IdempotencyRecord::Lookups::kDeferred && Defers();
        absl::StatusOr<std::optional<std::string>> found;
        const absl::Status stored = db_->Write([&](Transaction& tx) -> absl::Status {
          tx.set_defer_request_lookups(allow);
          ASSIGN_OR_RETURN(IdempotencyRecord record, IdempotencyRecord::Prepare(tx, lookups));
          found = record.Find(Key(1));
          EXPECT_EQ(tx.lookup_deferred(), defers);
          if (!found.ok() || found->has_value()) return record.Flush();
          if (!later) return record.Store(Key(1), "second", 2);
          record.StoreLater(Key(1), "second", 2);
          return record.Flush();
        });
        ASSERT_TRUE(found.ok()) << found.status();
        if (defers) {
          EXPECT_FALSE(found->has_value());
          EXPECT_TRUE(IsRequestSeenAgain(stored)) << stored;
        } else {
          EXPECT_EQ(found->value_or("none"), "first");
          EXPECT_TRUE(stored.ok()) << stored;
        }
      }
    }
  }
  int64_t records = -1;
  ASSERT_TRUE(db_->Read([&](Transaction& tx) -> absl::Status {
                   ASSIGN_OR_RETURN(Statement count,
                                    tx.Prepare("SELECT COUNT(*) FROM idempotency_records"));
                   ASSIGN_OR_RETURN(bool row, count.Step());
                   if (row) records = count.Int(0);
                   return absl::OkStatus();
                 })
                  .ok());
  EXPECT_EQ(records, 1);
}

TEST_P(DeferredLookupsTest, ARecordInTheRequestLogIsAnsweredWithoutDeferring) {
  ASSERT_TRUE(db_->Write([&](Transaction& tx) -> absl::Status {
                   ASSIGN_OR_RETURN(IdempotencyRecord record, IdempotencyRecord::Prepare(tx));
                   return record.Store(Key(1), "first", 1);
                 })
                  .ok());
  absl::StatusOr<std::optional<std::string>> found;
  const absl::Status stored = db_->Write([&](Transaction& tx) -> absl::Status {
    tx.set_defer_request_lookups(true);
    ASSIGN_OR_RETURN(IdempotencyRecord record,
                     IdempotencyRecord::Prepare(tx, IdempotencyRecord::Lookups::kDeferred));
    found = record.Find(Key(1));
    // Answered from the log on SQLite, from a lookup on PostgreSQL: nothing deferred.
    EXPECT_FALSE(tx.lookup_deferred());
    return record.Flush();
  });
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->value_or("none"), "first");
  EXPECT_TRUE(stored.ok()) << stored;
}

INSTANTIATE_TEST_SUITE_P(Engines, DeferredLookupsTest,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const ::testing::TestParamInfo<Engine>& info) {
                           return std::string(EngineName(info.param));
                         });

}  // namespace
}  // namespace dorset::runtime::storage
