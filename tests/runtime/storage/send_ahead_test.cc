// Statement::SendAhead and Transaction::InPartWritingLater on both engines (part of the contract
// suite, labels `sqlite` and `postgres`): reads sent ahead (on PostgreSQL in the pipeline, with
// BEGIN when first) give each its own rows at its Step, in any order, beside statements run and
// sent after them; a read sent ahead that fails, or that the server skipped after an earlier
// failure, fails the transaction with that failure and nothing commits; a result not taken is
// dropped; statements sent while the transaction holds its sends (Transaction::HoldSends), bar
// the first after a read, reach the server only with the next read or the commit, and behave as
// sent ones; and a part writing later is refused alone by its own checks but fails the whole
// transaction when one of its statements failed on PostgreSQL.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engines.h"
#include "gtest/gtest.h"
#include "runtime/status/status_macros.h"

namespace dorset::runtime::storage {
namespace {

class StorageSendAhead : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    std::string url = "sqlite://" + dir_.File("test.db");
    DORSET_DATABASE_FOR_ENGINE(GetParam(), url);
    url_ = url;
    absl::StatusOr<std::unique_ptr<Database>> db = OpenUrl(url);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    ASSERT_TRUE(db_->Write([](Transaction& tx) -> absl::Status {
                     ASSIGN_OR_RETURN(Statement insert,
                                      tx.Prepare("INSERT INTO item (id, name) VALUES (?, ?)"));
                     for (int64_t id = 1; id <= 5; ++id) {
                       insert.Reset();
                       RETURN_IF_ERROR(insert.Bind(1, id).Bind(2, absl::StrCat("n", id)).Run());
                     }
                     return absl::OkStatus();
                   })
                    .ok());
  }

  // A read of item `id`'s name, sent ahead.
  static absl::StatusOr<Statement> SendNameOf(Transaction& tx, int64_t id) {
    ASSIGN_OR_RETURN(Statement read, tx.Prepare("SELECT name FROM item WHERE id = ?"));
    read.Bind(1, id);
    RETURN_IF_ERROR(read.SendAhead());
    return read;
  }
  static absl::StatusOr<std::string> Take(Statement& read) {
    ASSIGN_OR_RETURN(bool row, read.Step());
    return row ? read.Text(0) : "<none>";
  }

  int64_t CountCommitted() {
    int64_t n = -1;
    absl::Status read = db_->Read([&](Transaction& tx) -> absl::Status {
      ASSIGN_OR_RETURN(Statement count, tx.Prepare("SELECT COUNT(*) FROM item"));
      ASSIGN_OR_RETURN(bool row, count.Step());
      if (row) n = count.Int(0);
      return absl::OkStatus();
    });
    EXPECT_TRUE(read.ok()) << read;
    return n;
  }

  testing::TempDir dir_;
  std::string url_;
  std::unique_ptr<Database> db_;
};

TEST_P(StorageSendAhead, EachReadSentAheadGivesItsOwnRowsInAnyOrder) {
  std::vector<std::string> names;
  ASSERT_TRUE(db_->Write([&](Transaction& tx) -> absl::Status {
                   names.clear();
                   // The transaction's first statements, sent ahead (on PostgreSQL with BEGIN).
                   ASSIGN_OR_RETURN(Statement a, SendNameOf(tx, 1));
                   ASSIGN_OR_RETURN(Statement b, SendNameOf(tx, 4));
                   ASSIGN_OR_RETURN(Statement none, SendNameOf(tx, 99));
                   ASSIGN_OR_RETURN(Statement dropped, SendNameOf(tx, 2));
                   dropped.Reset();  // never taken
                   // A write sent after them, then one more read ahead, then a statement run.
                   ASSIGN_OR_RETURN(Statement insert,
                                    tx.Prepare("INSERT INTO item (id, name) VALUES (?, ?)"));
                   RETURN_IF_ERROR(insert.Bind(1, 6).Bind(2, "n6").Send());
                   ASSIGN_OR_RETURN(Statement c, SendNameOf(tx, 6));
                   ASSIGN_OR_RETURN(Statement count, tx.Prepare("SELECT COUNT(*) FROM item"));
                   ASSIGN_OR_RETURN(bool counted, count.Step());
                   if (!counted || count.Int(0) != 6) return absl::InternalError("count");
                   // Taken out of order, after the pipeline was read by the count.
                   for (Statement* read : {&c, &none, &b, &a}) {
                     ASSIGN_OR_RETURN(std::string name, Take(*read));
                     names.push_back(name);
                   }
                   // Taken again: the same rows, as a statement run does not run again.
                   ASSIGN_OR_RETURN(bool more, a.Step());
                   if (more) return absl::InternalError("a second row");
                   // Sent ahead once more after its result was taken: a fresh result.
                   a.Reset();
                   a.Bind(1, 5);
                   RETURN_IF_ERROR(a.SendAhead());
                   ASSIGN_OR_RETURN(std::string five, Take(a));
                   names.push_back(five);
                   return absl::OkStatus();
                 })
                  .ok());
  EXPECT_EQ(names, (std::vector<std::string>{"n6", "<none>", "n4", "n1", "n5"}));
  EXPECT_EQ(CountCommitted(), 6);
}

TEST_P(StorageSendAhead, AFailureBeforeOrInAReadSentAheadFailsTheTransaction) {
  // A sent write that fails before the read: the read's Step gets the write's error (on SQLite
  // the Send itself does), and nothing commits.
  absl::Status step;
  absl::Status failed = db_->Write([&](Transaction& tx) -> absl::Status {
    // Prepared first: preparing reads the pipeline on PostgreSQL.
    ASSIGN_OR_RETURN(Statement read, tx.Prepare("SELECT name FROM item WHERE id = ?"));
    ASSIGN_OR_RETURN(Statement insert, tx.Prepare("INSERT INTO item (id, name) VALUES (?, ?)"));
    RETURN_IF_ERROR(insert.Bind(1, 7).Bind(2, "n7").Send());
    insert.Reset();
    RETURN_IF_ERROR(insert.Bind(1, 1).Bind(2, "again").Send());  // id 1 is taken
    RETURN_IF_ERROR(read.Bind(1, 3).SendAhead());
    step = Take(read).status();
    return step;
  });
  EXPECT_EQ(failed.code(), absl::StatusCode::kAlreadyExists) << failed;
  if (GetParam() == Engine::kPostgres) {
    EXPECT_EQ(step.code(), absl::StatusCode::kAlreadyExists) << step;
  }
  EXPECT_EQ(CountCommitted(), 5);

  // A read sent ahead that fails itself (a cast that cannot be made), taken by a later statement
  // run first: the run statement and the read's Step both fail, and nothing commits.
  absl::Status run;
  absl::Status own = db_->Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(Statement insert, tx.Prepare("INSERT INTO item (id, name) VALUES (?, ?)"));
    RETURN_IF_ERROR(insert.Bind(1, 8).Bind(2, "n8").Run());
    ASSIGN_OR_RETURN(Statement bad, tx.Prepare("SELECT CAST(? AS INTEGER) + 1 FROM item"));
    ASSIGN_OR_RETURN(Statement count, tx.Prepare("SELECT COUNT(*) FROM item"));
    bad.Bind(1, "not a number");
    RETURN_IF_ERROR(bad.SendAhead());
    run = count.Step().status();
    absl::StatusOr<bool> taken = bad.Step();
    if (taken.ok()) return absl::InternalError("the bad read gave a row");
    return taken.status();
  });
  EXPECT_FALSE(own.ok());
  if (GetParam() == Engine::kPostgres) {
    EXPECT_FALSE(run.ok()) << "the count ran after a failed statement";
    EXPECT_EQ(own.code(), run.code()) << own << " / " << run;
  }
  EXPECT_EQ(CountCommitted(), 5);

  // Every connection serves on, reads ahead and all.
  for (int i = 0; i < 12; ++i) {
    absl::Status ok = db_->Write([&](Transaction& tx) -> absl::Status {
      ASSIGN_OR_RETURN(Statement read, SendNameOf(tx, 2));
      ASSIGN_OR_RETURN(std::string name, Take(read));
      return name == "n2" ? absl::OkStatus() : absl::InternalError(name);
    });
    ASSERT_TRUE(ok.ok()) << i << ": " << ok;
  }
}

TEST_P(StorageSendAhead, APartWritingLaterIsRefusedAloneUnlessAStatementOfItFailed) {
  std::optional<absl::Status> refused;
  absl::Status outer = db_->Write([&](Transaction& tx) -> absl::Status {
    // Refused by its own check after a read: the value, and the transaction goes on.
    ASSIGN_OR_RETURN(refused, tx.InPartWritingLater([&]() -> absl::Status {
      ASSIGN_OR_RETURN(Statement read, SendNameOf(tx, 3));
      ASSIGN_OR_RETURN(std::string name, Take(read));
      return absl::FailedPreconditionError(absl::StrCat("refused after reading ", name));
    }));
    ASSIGN_OR_RETURN(Statement insert, tx.Prepare("INSERT INTO item (id, name) VALUES (?, ?)"));
    return insert.Bind(1, 9).Bind(2, "n9").Run();
  });
  ASSERT_TRUE(outer.ok()) << outer;
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->code(), absl::StatusCode::kFailedPrecondition) << *refused;
  EXPECT_EQ(CountCommitted(), 6);

  // A statement of the part fails (on PostgreSQL that aborts the transaction): the error, not
  // the value, whatever the part answered; nothing commits.
  bool part_returned_value = false;
  absl::Status doomed = db_->Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(Statement insert, tx.Prepare("INSERT INTO item (id, name) VALUES (?, ?)"));
    RETURN_IF_ERROR(insert.Bind(1, 10).Bind(2, "n10").Run());
    ASSIGN_OR_RETURN(absl::Status part, tx.InPartWritingLater([&]() -> absl::Status {
      ASSIGN_OR_RETURN(Statement bad, tx.Prepare("SELECT CAST(? AS INTEGER) + 1 FROM item"));
      bad.Bind(1, "not a number");
      absl::StatusOr<bool> row = bad.Step();
      return row.ok() ? absl::OkStatus() : absl::InvalidArgumentError("a refusal, it says");
    }));
    part_returned_value = true;
    (void)part;
    return absl::OkStatus();
  });
  if (GetParam() == Engine::kPostgres) {
    EXPECT_FALSE(part_returned_value);
    EXPECT_EQ(doomed.code(), absl::StatusCode::kInvalidArgument) << doomed;
    EXPECT_EQ(CountCommitted(), 6);
  } else {
    // SQLite casts anything, and a failed read there leaves the transaction usable.
    EXPECT_TRUE(doomed.ok()) << doomed;
  }
}

TEST_P(StorageSendAhead, HeldSendsReachTheServerWithTheNextReadOrTheCommit) {
  // Another pool, to watch the writing connection's backend from outside (PostgreSQL).
  absl::StatusOr<std::unique_ptr<Database>> watcher = OpenUrl(url_);
  ASSERT_TRUE(watcher.ok()) << watcher.status();
  const bool postgres = GetParam() == Engine::kPostgres;
  // The statement the backend last started (pg_stat_activity.query), each look a transaction of
  // its own (the activity is a snapshot per transaction).
  const auto last_started = [&](int64_t pid) {
    std::string query;
    EXPECT_TRUE((*watcher)
                    ->Read([&](Transaction& tx) -> absl::Status {
                      ASSIGN_OR_RETURN(
                          Statement activity,
                          tx.Prepare("SELECT query FROM pg_stat_activity WHERE pid = ?"));
                      ASSIGN_OR_RETURN(bool row, activity.Bind(1, pid).Step());
                      query = row ? activity.Text(0) : "<gone>";
                      return absl::OkStatus();
                    })
                    .ok());
    return query;
  };
  std::vector<std::string> seen;
  std::string name;
  ASSERT_TRUE(db_->Write([&](Transaction& tx) -> absl::Status {
                   seen.clear();
                   int64_t pid = 0;
                   if (postgres) {
                     ASSIGN_OR_RETURN(Statement self, tx.Prepare("SELECT pg_backend_pid()"));
                     ASSIGN_OR_RETURN(bool row, self.Step());
                     if (row) pid = self.Int(0);
                   }
                   ASSIGN_OR_RETURN(Statement insert,
                                    tx.Prepare("INSERT INTO item (id, name) VALUES (?, ?)"));
                   ASSIGN_OR_RETURN(Statement read,
                                    tx.Prepare("SELECT name FROM item WHERE id = ?"));
                   tx.HoldSends();
                   // The first after a read goes at once; the read after it waits.
                   RETURN_IF_ERROR(insert.Bind(1, 6).Bind(2, "held").Send());
                   RETURN_IF_ERROR(read.Bind(1, 6).SendAhead());
                   for (int look = 0; postgres && look < 200; ++look) {
                     if (last_started(pid).starts_with("INSERT")) break;
                     absl::SleepFor(absl::Milliseconds(10));
                   }
                   // Sent, the read would be the backend's latest within milliseconds.
                   for (int look = 0; postgres && look < 6; ++look) {
                     absl::SleepFor(absl::Milliseconds(50));
                     seen.push_back(last_started(pid));
                   }
                   ASSIGN_OR_RETURN(name, Take(read));  // the pipeline read: both sent now
                   insert.Reset();
                   return insert.Bind(1, 7).Bind(2, "held too").Send();  // sent by the commit
                 })
                  .ok());
  for (const std::string& query : seen) {
    EXPECT_EQ(query, "INSERT INTO item (id, name) VALUES ($1, $2)");
  }
  EXPECT_EQ(name, "held");
  EXPECT_EQ(CountCommitted(), 7);

  // A held write that fails is the commit's failure: nothing of the transaction commits.
  absl::Status failed = db_->Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(Statement insert, tx.Prepare("INSERT INTO item (id, name) VALUES (?, ?)"));
    tx.HoldSends();
    RETURN_IF_ERROR(insert.Bind(1, 8).Bind(2, "n8").Send());
    insert.Reset();
    return insert.Bind(1, 1).Bind(2, "again").Send();  // id 1 is taken
  });
  EXPECT_EQ(failed.code(), absl::StatusCode::kAlreadyExists) << failed;
  EXPECT_EQ(CountCommitted(), 7);
  // Without HoldSends (a new transaction: the hold ends with its own) a sent statement goes at
  // once: the backend starts it while the caller waits.
  std::string started;
  ASSERT_TRUE(db_->Write([&](Transaction& tx) -> absl::Status {
                   int64_t pid = 0;
                   if (postgres) {
                     ASSIGN_OR_RETURN(Statement self, tx.Prepare("SELECT pg_backend_pid()"));
                     ASSIGN_OR_RETURN(bool row, self.Step());
                     if (row) pid = self.Int(0);
                   }
                   ASSIGN_OR_RETURN(Statement insert,
                                    tx.Prepare("INSERT INTO item (id, name) VALUES (?, ?)"));
                   RETURN_IF_ERROR(insert.Bind(1, 9).Bind(2, "n9").Send());
                   for (int look = 0; postgres && look < 200; ++look) {
                     started = last_started(pid);
                     if (started.starts_with("INSERT")) break;
                     absl::SleepFor(absl::Milliseconds(10));
                   }
                   ASSIGN_OR_RETURN(Statement read, SendNameOf(tx, 7));
                   ASSIGN_OR_RETURN(std::string seven, Take(read));
                   return seven == "held too" ? absl::OkStatus() : absl::InternalError(seven);
                 })
                  .ok());
  if (postgres) {
    EXPECT_TRUE(started.starts_with("INSERT INTO item")) << started;
  }
  EXPECT_EQ(CountCommitted(), 8);
}

INSTANTIATE_TEST_SUITE_P(Engines, StorageSendAhead,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const ::testing::TestParamInfo<Engine>& info) {
                           return std::string(EngineName(info.param));
                         });

}  // namespace
}  // namespace dorset::runtime::storage
