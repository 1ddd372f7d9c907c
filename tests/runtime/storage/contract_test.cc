// The storage lane's contract, run on both engines: every case below runs once on SQLite
// (ctest label `sqlite`) and once on PostgreSQL (label `postgres`).
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <iostream>
#include <limits>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engines.h"
#include "google/protobuf/wrappers.pb.h"
#include "gtest/gtest.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/keyset_page.h"
#include "runtime/storage/migrations.h"
#include "runtime/storage/replica_lock.h"

namespace dorset::runtime::storage {
namespace {

class StorageContract : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    if (GetParam() == Engine::kPostgres) {
      DORSET_REQUIRE_POSTGRES(testing::PostgresServer::Shared(), pg);
      (void)pg;  // FreshUrl creates the database
    }
    url_ = FreshUrl("test.db");
    ASSERT_FALSE(url_.empty());
    absl::StatusOr<std::unique_ptr<Database>> db = OpenUrl(url_);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
  }

  // A new, empty database on this test's engine: a file `name` or a PostgreSQL database.
  std::string FreshUrl(const std::string& name) {
    if (GetParam() == Engine::kSqlite) return "sqlite://" + dir_.File(name);
    absl::StatusOr<testing::PostgresServer*> pg = testing::PostgresServer::Shared();
    EXPECT_TRUE(pg.ok()) << pg.status();
    if (!pg.ok()) return "";
    absl::StatusOr<std::string> uri = (*pg)->CreateDatabase();
    EXPECT_TRUE(uri.ok()) << uri.status();
    return uri.ok() ? *uri : "";
  }

  absl::Status Insert(int64_t id, const std::string& name) {
    return db_->Write([&](Transaction& tx) -> absl::Status {
      ASSIGN_OR_RETURN(Statement insert, tx.Prepare("INSERT INTO item (id, name) VALUES (?, ?)"));
      return insert.Bind(1, id).Bind(2, name).Run();
    });
  }

  int64_t Count(const std::string& table) {
    int64_t count = -1;
    absl::Status status = db_->Read([&](Transaction& tx) -> absl::Status {
      ASSIGN_OR_RETURN(Statement stmt, tx.Prepare("SELECT COUNT(*) FROM " + table));
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (row) count = stmt.Int(0);
      return absl::OkStatus();
    });
    EXPECT_TRUE(status.ok()) << status;
    return count;
  }

  testing::TempDir dir_;
  std::string url_;
  std::unique_ptr<Database> db_;
};

TEST_P(StorageContract, CreateReadUpdateDelete) {
  ASSERT_TRUE(Insert(1, "alpha").ok());
  ASSERT_TRUE(Insert(2, "beta").ok());
  int64_t changed = 0;
  ASSERT_TRUE(db_->Write([&](Transaction& tx) -> absl::Status {
                   ASSIGN_OR_RETURN(Statement update,
                                    tx.Prepare("UPDATE item SET note = ? WHERE id = ?"));
                   RETURN_IF_ERROR(update.Bind(1, "noted").Bind(2, int64_t{2}).Run());
                   changed = update.Changes();
                   return absl::OkStatus();
                 })
                  .ok());
  EXPECT_EQ(changed, 1);
  std::vector<std::pair<std::string, std::optional<std::string>>> rows;
  ASSERT_TRUE(db_->Read([&](Transaction& tx) -> absl::Status {
                   ASSIGN_OR_RETURN(Statement select,
                                    tx.Prepare("SELECT name, note FROM item ORDER BY id"));
                   while (true) {
                     ASSIGN_OR_RETURN(bool row, select.Step());
                     if (!row) return absl::OkStatus();
                     rows.emplace_back(select.Text(0), select.OptionalText(1));
                   }
                 })
                  .ok());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].first, "alpha");
  EXPECT_EQ(rows[0].second, std::nullopt);
  EXPECT_EQ(rows[1].second, "noted");
  ASSERT_TRUE(db_->Write([&](Transaction& tx) -> absl::Status {
                   ASSIGN_OR_RETURN(Statement del, tx.Prepare("DELETE FROM item WHERE id = ?"));
                   RETURN_IF_ERROR(del.Bind(1, 1).Run());
                   changed = del.Changes();
                   return absl::OkStatus();
                 })
                  .ok());
  EXPECT_EQ(changed, 1);
  EXPECT_EQ(Count("item"), 1);
}

TEST_P(StorageContract, BindsAndReadsEveryTypeIncludingNullBlobAnd64BitInts) {
  const std::string blob("\x00\x01\xff\x7f' ?\\x00", 10);
  const std::string text = "O'Brien \"quoted\" ? £ é 名";
  struct Row {
    int64_t id;
    std::optional<std::string> note;
    std::optional<int64_t> amount;
  };
  const std::vector<Row> rows = {
      {std::numeric_limits<int64_t>::max(), text, int64_t{-1}},
      {std::numeric_limits<int64_t>::min(), std::nullopt, std::numeric_limits<int64_t>::min()},
      {0, "", std::nullopt}};
  ASSERT_TRUE(db_->Write([&](Transaction& tx) -> absl::Status {
                   for (const Row& r : rows) {
                     ASSIGN_OR_RETURN(Statement insert,
                                      tx.Prepare("INSERT INTO item (id, name, note, payload, "
                                                 "amount) VALUES (?, ?, ?, ?, ?)"));
                     insert.Bind(1, r.id).Bind(2, std::to_string(r.id)).Bind(3, r.note);
                     if (r.id == 0) {
                       insert.BindNull(4);
                     } else {
                       insert.BindBlob(4, blob);
                     }
                     RETURN_IF_ERROR(insert.Bind(5, r.amount).Run());
                   }
                   return absl::OkStatus();
                 })
                  .ok());
  for (const Row& r : rows) {
    ASSERT_TRUE(
        db_->Read([&](Transaction& tx) -> absl::Status {
             ASSIGN_OR_RETURN(
                 Statement select,
                 tx.Prepare("SELECT id, note, payload, amount, '?' FROM item WHERE id = ?"));
             ASSIGN_OR_RETURN(bool row, select.Bind(1, r.id).Step());
             EXPECT_TRUE(row);
             EXPECT_EQ(select.Int(0), r.id);
             EXPECT_EQ(select.OptionalText(1), r.note);
             EXPECT_EQ(select.IsNull(1), !r.note.has_value());
             if (r.id == 0) {
               EXPECT_TRUE(select.IsNull(2));
             } else {
               EXPECT_EQ(select.Blob(2), blob);
             }
             EXPECT_EQ(select.OptionalInt(3), r.amount);
             EXPECT_EQ(select.Text(4), "?");  // a quoted ? is no placeholder
             ASSIGN_OR_RETURN(bool more, select.Step());
             EXPECT_FALSE(more);
             return absl::OkStatus();
           })
            .ok());
  }
}

TEST_P(StorageContract, ConstraintViolationsMapToAlreadyExistsAndFailedPrecondition) {
  ASSERT_TRUE(Insert(1, "alpha").ok());
  EXPECT_EQ(Insert(1, "other").code(), absl::StatusCode::kAlreadyExists);  // primary key
  EXPECT_EQ(Insert(2, "alpha").code(), absl::StatusCode::kAlreadyExists);  // unique
  absl::Status not_null = db_->Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(Statement insert, tx.Prepare("INSERT INTO item (id, name) VALUES (?, ?)"));
    return insert.Bind(1, 3).BindNull(2).Run();
  });
  EXPECT_EQ(not_null.code(), absl::StatusCode::kFailedPrecondition) << not_null;
  absl::Status check = db_->Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(Statement update, tx.Prepare("UPDATE counter SET value = ? WHERE id = 1"));
    return update.Bind(1, -5).Run();
  });
  EXPECT_EQ(check.code(), absl::StatusCode::kFailedPrecondition) << check;
  EXPECT_EQ(Count("item"), 1);
}

TEST_P(StorageContract, FailedTransactionLeavesNoHalfWrite) {
  // The function fails after one insert: nothing of it remains.
  absl::Status failed = db_->Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(Statement insert, tx.Prepare("INSERT INTO item (id, name) VALUES (?, ?)"));
    RETURN_IF_ERROR(insert.Bind(1, 1).Bind(2, "first").Run());
    return absl::InvalidArgumentError("changed my mind");
  });
  EXPECT_EQ(failed.code(), absl::StatusCode::kInvalidArgument);
  // A constraint fails on the second insert: the first is rolled back too.
  ASSERT_TRUE(Insert(10, "taken").ok());
  absl::Status conflict = db_->Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(Statement insert, tx.Prepare("INSERT INTO item (id, name) VALUES (?, ?)"));
    RETURN_IF_ERROR(insert.Bind(1, 11).Bind(2, "fresh").Run());
    insert.Reset();
    return insert.Bind(1, 12).Bind(2, "taken").Run();
  });
  EXPECT_EQ(conflict.code(), absl::StatusCode::kAlreadyExists);
  // The caller ignores a failed statement and returns OK: the commit still refuses on
  // PostgreSQL (the transaction is aborted); on SQLite the statement simply had no effect.
  absl::Status ignored = db_->Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(Statement insert, tx.Prepare("INSERT INTO item (id, name) VALUES (?, ?)"));
    (void)insert.Bind(1, 13).Bind(2, "taken").Run();
    return absl::OkStatus();
  });
  (void)ignored;
  EXPECT_EQ(Count("item"), 1);
}

// On PostgreSQL BEGIN travels with the first statement in one pipeline: when that statement
// fails, the caller gets the statement's own error, nothing is kept, and the connection serves
// the next transactions (more of them than the pool has connections).
TEST_P(StorageContract, AFailingFirstStatementRollsBackReportsItsErrorAndTheConnectionServesOn) {
  ASSERT_TRUE(Insert(10, "taken").ok());
  absl::Status seen_by_fn;
  absl::Status conflict = db_->Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(Statement insert, tx.Prepare("INSERT INTO item (id, name) VALUES (?, ?)"));
    seen_by_fn = insert.Bind(1, 11).Bind(2, "taken").Run();
    return seen_by_fn;
  });
  EXPECT_EQ(seen_by_fn.code(), absl::StatusCode::kAlreadyExists) << seen_by_fn;
  EXPECT_EQ(conflict.code(), absl::StatusCode::kAlreadyExists) << conflict;

  // A first statement the server cannot parse: an error, not OK, and not a lost connection.
  absl::Status bad = db_->Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(Statement nonsense, tx.Prepare("SELEC id FROM item"));
    return nonsense.Run();
  });
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.code(), absl::StatusCode::kUnavailable) << bad;

  // The first statement succeeds, the second fails: the first is rolled back with it.
  absl::Status second = db_->Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(Statement insert, tx.Prepare("INSERT INTO item (id, name) VALUES (?, ?)"));
    RETURN_IF_ERROR(insert.Bind(1, 12).Bind(2, "fresh").Run());
    insert.Reset();
    return insert.Bind(1, 13).Bind(2, "taken").Run();
  });
  EXPECT_EQ(second.code(), absl::StatusCode::kAlreadyExists) << second;
  EXPECT_EQ(Count("item"), 1);

  // A transaction with no statement commits nothing and fails nothing.
  EXPECT_TRUE(db_->Write([](Transaction&) { return absl::OkStatus(); }).ok());
  EXPECT_TRUE(db_->Read([](Transaction&) { return absl::OkStatus(); }).ok());

  // Every connection of the pool serves on: 40 writes, each its first statement pipelined,
  // and reads whose first statement returns rows.
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(Insert(100 + i, absl::StrCat("after-", i)).ok()) << i;
    int64_t id = -1;
    ASSERT_TRUE(db_->Read([&](Transaction& tx) -> absl::Status {
                     ASSIGN_OR_RETURN(Statement select,
                                      tx.Prepare("SELECT id FROM item WHERE name = ?"));
                     select.Bind(1, absl::StrCat("after-", i));
                     ASSIGN_OR_RETURN(bool row, select.Step());
                     if (!row) return absl::NotFoundError("row");
                     id = select.Int(0);
                     return absl::OkStatus();
                   })
                    .ok());
    EXPECT_EQ(id, 100 + i);
  }
  EXPECT_EQ(Count("item"), 41);
}

TEST_P(StorageContract, ReadTransactionsRefuseWrites) {
  absl::Status status = db_->Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(Statement insert, tx.Prepare("INSERT INTO item (id, name) VALUES (?, ?)"));
    return insert.Bind(1, 1).Bind(2, "sneaky").Run();
  });
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(Count("item"), 0);
}

TEST_P(StorageContract, ConcurrentReadModifyWriteLosesNoIncrement) {
  // Each writer reads the counter and writes it back plus one. On PostgreSQL (SERIALIZABLE)
  // concurrent attempts fail with a serialization failure and run again; on SQLite the one
  // writer serialises them. Either way the total is exact.
  constexpr int kThreads = 4;
  constexpr int kIncrements = 25;
  DatabaseOptions options;
  options.max_attempts = 100;  // heavy contention on purpose
  absl::StatusOr<std::unique_ptr<Database>> db = OpenUrl(url_, -1, options);
  ASSERT_TRUE(db.ok()) << db.status();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        absl::Status s = (*db)->Write([&](Transaction& tx) -> absl::Status {
          ASSIGN_OR_RETURN(Statement read, tx.Prepare("SELECT value FROM counter WHERE id = 1"));
          ASSIGN_OR_RETURN(bool row, read.Step());
          if (!row) return absl::InternalError("no counter");
          const int64_t value = read.Int(0);
          ASSIGN_OR_RETURN(Statement write,
                           tx.Prepare("UPDATE counter SET value = ? WHERE id = 1"));
          return write.Bind(1, value + 1).Run();
        });
        if (!s.ok()) {
          ADD_FAILURE() << s;
          ++failures;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  // On PostgreSQL this is normally above zero: the retry path ran (not asserted: it depends
  // on how the threads interleave).
  RecordProperty("retries", static_cast<int>((*db)->retries()));
  std::cout << "transactions retried: " << (*db)->retries() << "\n";
  int64_t value = -1;
  ASSERT_TRUE(db_->Read([&](Transaction& tx) -> absl::Status {
                   ASSIGN_OR_RETURN(Statement read,
                                    tx.Prepare("SELECT value FROM counter WHERE id = 1"));
                   ASSIGN_OR_RETURN(bool row, read.Step());
                   if (row) value = read.Int(0);
                   return absl::OkStatus();
                 })
                  .ok());
  EXPECT_EQ(value, kThreads * kIncrements);
}

TEST_P(StorageContract, MigrationsRecordedOnceWhenDatabasesOpenConcurrently) {
  // A fresh database, opened by four Database objects at once: one applies the steps, the
  // others wait for the lock and find them done (migration 2 inserts a row: counted once).
  const std::string url = FreshUrl("concurrent.db");
  ASSERT_FALSE(url.empty());
  std::vector<std::unique_ptr<Database>> dbs(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < dbs.size(); ++i) {
    threads.emplace_back([&, i] {
      absl::StatusOr<std::unique_ptr<Database>> db = OpenUrl(url);
      EXPECT_TRUE(db.ok()) << db.status();
      if (db.ok()) dbs[i] = *std::move(db);
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_TRUE(dbs[0] != nullptr);
  ASSERT_TRUE(
      dbs[0]
          ->Read([&](Transaction& tx) -> absl::Status {
            ASSIGN_OR_RETURN(int version, SchemaVersion(tx));
            EXPECT_EQ(version, 2);
            ASSIGN_OR_RETURN(Statement steps, tx.Prepare("SELECT COUNT(*) FROM schema_migrations"));
            ASSIGN_OR_RETURN(bool row, steps.Step());
            EXPECT_TRUE(row);
            EXPECT_EQ(steps.Int(0), 2);
            ASSIGN_OR_RETURN(Statement counters, tx.Prepare("SELECT COUNT(*) FROM counter"));
            ASSIGN_OR_RETURN(row, counters.Step());
            EXPECT_EQ(counters.Int(0), 1);
            return absl::OkStatus();
          })
          .ok());
}

TEST_P(StorageContract, MigrationsRecordedOnceWhenTwoProcessesStartTogether) {
  const std::string url = FreshUrl("processes.db");
  ASSERT_FALSE(url.empty());
  // Both children wait on a pipe, so they open at the same moment.
  int go[2];
  ASSERT_EQ(pipe(go), 0);
  std::vector<pid_t> children;
  for (int i = 0; i < 2; ++i) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(go[1]);
      char c;
      (void)read(go[0], &c, 1);
      absl::StatusOr<std::unique_ptr<Database>> db = OpenUrl(url);
      _exit(db.ok() ? 0 : 1);
    }
    children.push_back(pid);
  }
  close(go[0]);
  close(go[1]);  // EOF releases both
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  absl::StatusOr<std::unique_ptr<Database>> db = OpenUrl(url);
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE((*db)
                  ->Read([&](Transaction& tx) -> absl::Status {
                    ASSIGN_OR_RETURN(Statement counters,
                                     tx.Prepare("SELECT COUNT(*) FROM counter"));
                    ASSIGN_OR_RETURN(bool row, counters.Step());
                    EXPECT_TRUE(row);
                    EXPECT_EQ(counters.Int(0), 1);
                    return absl::OkStatus();
                  })
                  .ok());
}

TEST_P(StorageContract, WriterProcessKilledMidLoadKeepsEveryAcknowledgedRowOnce) {
  const std::string url = FreshUrl("killed.db");
  ASSERT_FALSE(url.empty());
  // The child writes rows one transaction each and reports every acknowledged id on a pipe,
  // until it is killed with SIGKILL in the middle of the load.
  int acks[2];
  ASSERT_EQ(pipe(acks), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(acks[0]);
    absl::StatusOr<std::unique_ptr<Database>> db = OpenUrl(url);
    if (!db.ok()) _exit(2);
    for (int64_t id = 1;; ++id) {
      absl::Status s = (*db)->Write([&](Transaction& tx) -> absl::Status {
        ASSIGN_OR_RETURN(Statement insert, tx.Prepare("INSERT INTO item (id, name) VALUES (?, ?)"));
        return insert.Bind(1, id).Bind(2, "row " + std::to_string(id)).Run();
      });
      if (!s.ok() || write(acks[1], &id, sizeof id) != sizeof id) _exit(3);
    }
  }
  close(acks[1]);
  std::set<int64_t> acknowledged;
  int64_t id = 0;
  while (acknowledged.size() < 100 && read(acks[0], &id, sizeof id) == sizeof id) {
    acknowledged.insert(id);
  }
  kill(pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status)) << "the writer stopped by itself: " << status;
  while (read(acks[0], &id, sizeof id) == sizeof id) acknowledged.insert(id);  // sent before
  close(acks[0]);
  ASSERT_GE(acknowledged.size(), 100u);

  absl::StatusOr<std::unique_ptr<Database>> db = OpenUrl(url);
  ASSERT_TRUE(db.ok()) << db.status();
  std::set<int64_t> stored;
  ASSERT_TRUE((*db)
                  ->Read([&](Transaction& tx) -> absl::Status {
                    ASSIGN_OR_RETURN(Statement select, tx.Prepare("SELECT id FROM item"));
                    while (true) {
                      ASSIGN_OR_RETURN(bool row, select.Step());
                      if (!row) return absl::OkStatus();
                      stored.insert(select.Int(0));
                    }
                  })
                  .ok());
  for (int64_t acked : acknowledged) EXPECT_TRUE(stored.count(acked)) << "lost row " << acked;
  // At most the one commit in flight when the kill came is there without its acknowledgement.
  EXPECT_LE(stored.size(), acknowledged.size() + 1);
}

TEST_P(StorageContract, DatabaseNewerThanBinaryIsRefused) {
  db_.reset();
  absl::StatusOr<std::unique_ptr<Database>> older = OpenUrl(url_, /*steps=*/1);
  ASSERT_FALSE(older.ok());
  EXPECT_EQ(older.status().code(), absl::StatusCode::kFailedPrecondition) << older.status();
  // The same binary as before still opens it.
  EXPECT_TRUE(OpenUrl(url_).ok());
}

TEST_P(StorageContract, HealthIsOkWhileTheDatabaseAnswers) {
  EXPECT_TRUE(db_->Health().ok()) << db_->Health();
  EXPECT_EQ(db_->engine(), GetParam());
}

TEST_P(StorageContract, StatementsAreReusedAndNestedInOneTransaction) {
  ASSERT_TRUE(Insert(1, "a").ok());
  ASSERT_TRUE(Insert(2, "b").ok());
  // The same SQL prepared twice while the first is mid-iteration: both work.
  ASSERT_TRUE(db_->Write([&](Transaction& tx) -> absl::Status {
                   ASSIGN_OR_RETURN(Statement outer, tx.Prepare("SELECT id FROM item ORDER BY id"));
                   int seen = 0;
                   while (true) {
                     ASSIGN_OR_RETURN(bool row, outer.Step());
                     if (!row) break;
                     ASSIGN_OR_RETURN(Statement inner,
                                      tx.Prepare("SELECT id FROM item ORDER BY id"));
                     ASSIGN_OR_RETURN(bool inner_row, inner.Step());
                     EXPECT_TRUE(inner_row);
                     EXPECT_EQ(inner.Int(0), 1);
                     ++seen;
                   }
                   EXPECT_EQ(seen, 2);
                   return absl::OkStatus();
                 })
                  .ok());
}

// A connection keeps a few copies of a statement per SQL text (a writer's one-row insert and a
// multi-row insert of one row share their text); more at once than it keeps still work, and the
// kept copies come back reset in the next transaction, whatever their last use left.
TEST_P(StorageContract, TheSameSqlHeldManyTimesAtOnceWorksInEveryTransaction) {
  for (int i = 1; i <= 20; ++i) ASSERT_TRUE(Insert(i, absl::StrCat("n", i)).ok());
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(db_->Write([&](Transaction& tx) -> absl::Status {
                     std::vector<Statement> held;
                     for (int depth = 0; depth < 7; ++depth) {
                       ASSIGN_OR_RETURN(Statement s,
                                        tx.Prepare("SELECT id FROM item WHERE id > ? ORDER BY id"));
                       s.Bind(1, int64_t{depth});
                       // Each copy is left at a different row: the first `depth + 1` rows read.
                       for (int step = 0; step <= depth; ++step) {
                         ASSIGN_OR_RETURN(bool row, s.Step());
                         EXPECT_TRUE(row);
                       }
                       held.push_back(std::move(s));
                     }
                     for (int depth = 0; depth < 7; ++depth) {
                       EXPECT_EQ(held[depth].Int(0), 2 * depth + 1) << "round " << round;
                     }
                     return absl::OkStatus();
                   })
                    .ok());
  }
}

// The one keyset pager (runtime/storage/keyset_page.h) over the engine: every row once, in key
// order, across pages; a row inserted before the position does not shift later pages; the byte
// budget ends a page early and the next resumes after it; a token of another query is refused.
TEST_P(StorageContract, KeysetPagesVisitEveryRowOnceInOrder) {
  for (int i = 0; i < 23; ++i) ASSERT_TRUE(Insert(i + 1, absl::StrCat("n", 100 + i)).ok());
  const PageTokenCodec codec("test-key");
  const auto list = [&](const std::string& token, int size, PageLimits limits,
                        std::vector<std::string>& names) -> absl::StatusOr<std::string> {
    ASSIGN_OR_RETURN(KeysetPage page, KeysetPage::Start(codec, "ListItems", size, token, limits));
    google::protobuf::RepeatedPtrField<google::protobuf::StringValue> items;
    std::string next;
    RETURN_IF_ERROR(db_->Read([&](Transaction& tx) -> absl::Status {
      ASSIGN_OR_RETURN(Statement stmt,
                       tx.Prepare("SELECT name FROM item WHERE name > ? ORDER BY name LIMIT ?"));
      stmt.Bind(1, page.after()).Bind(2, page.fetch_limit());
      return page.Collect(
          stmt,
          [](Statement& row) {
            google::protobuf::StringValue v;
            v.set_value(row.Text(0));
            return v;
          },
          [](const Statement& row) { return row.Text(0); }, items, &next);
    }));
    for (const auto& item : items) names.push_back(item.value());
    return next;
  };
  std::vector<std::string> names;
  absl::StatusOr<std::string> token = list("", 10, {}, names);
  ASSERT_TRUE(token.ok()) << token.status();
  ASSERT_EQ(names.size(), 10u);
  ASSERT_FALSE(token->empty());
  ASSERT_TRUE(Insert(100, "a-before-the-position").ok());  // sorts before every page
  int pages = 1;
  while (!token->empty()) {
    token = list(*token, 10, {}, names);
    ASSERT_TRUE(token.ok()) << token.status();
    ++pages;
  }
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(names.size(), 23u);
  for (int i = 0; i < 23; ++i) EXPECT_EQ(names[i], absl::StrCat("n", 100 + i));

  // A byte budget of one item's size: one item per page however large page_size is.
  std::vector<std::string> small;
  token = list("", 50, {.max_bytes = 1}, small);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(small, std::vector<std::string>{"a-before-the-position"});
  token = list(*token, 50, {.max_bytes = 1}, small);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(small.back(), "n100");

  absl::StatusOr<KeysetPage> other = KeysetPage::Start(codec, "ListOther", 10, *token);
  EXPECT_EQ(other.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(KeysetPage::Start(codec, "ListItems", -1, "").status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<KeysetPage> clamped =
      KeysetPage::Start(codec, "ListItems", 100000, "", {.max_size = 500});
  ASSERT_TRUE(clamped.ok());
  EXPECT_EQ(clamped->page_size(), 500);
  EXPECT_EQ(clamped->fetch_limit(), 501);
}

// The cross-replica lock (replica_lock.h): one holder per name among every Database on the same
// database (two replicas here), released when the holder is destroyed; on PostgreSQL also when
// the holder's session dies, so a killed replica never keeps it.
TEST_P(StorageContract, ReplicaLockHasOneHolderPerNameAcrossReplicas) {
  absl::StatusOr<std::unique_ptr<Database>> other = OpenUrl(url_);
  ASSERT_TRUE(other.ok()) << other.status();
  absl::StatusOr<std::unique_ptr<ReplicaLock>> a = ReplicaLock::TryAcquire(*db_, "job");
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_NE(*a, nullptr);
  absl::StatusOr<std::unique_ptr<ReplicaLock>> b = ReplicaLock::TryAcquire(**other, "job");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(*b, nullptr);
  EXPECT_EQ(*ReplicaLock::TryAcquire(*db_, "job"), nullptr);  // not re-entrant either
  absl::StatusOr<std::unique_ptr<ReplicaLock>> other_name =
      ReplicaLock::TryAcquire(**other, "another-job");
  ASSERT_TRUE(other_name.ok());
  EXPECT_NE(*other_name, nullptr);
  a->reset();
  b = ReplicaLock::TryAcquire(**other, "job");
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_NE(*b, nullptr);
  EXPECT_EQ(*ReplicaLock::TryAcquire(*db_, "job"), nullptr);
  if (GetParam() != Engine::kPostgres) return;

  // The holder's session ends (as when its replica is killed): the server releases the lock.
  ASSERT_TRUE(db_->Write([&](Transaction& tx) -> absl::Status {
                   ASSIGN_OR_RETURN(Statement kill,
                                    tx.Prepare("SELECT pg_terminate_backend(pid) FROM pg_locks "
                                               "WHERE locktype = 'advisory' AND pid <> "
                                               "pg_backend_pid() AND objid = ? AND database = "
                                               "(SELECT oid FROM pg_database WHERE datname = "
                                               "current_database())"));
                   kill.Bind(1, static_cast<int64_t>(ReplicaLock::KeyOf("job") & 0xffffffffLL));
                   return kill.Run();
                 })
                  .ok());
  std::unique_ptr<ReplicaLock> taken;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (taken == nullptr && absl::Now() < deadline) {
    absl::StatusOr<std::unique_ptr<ReplicaLock>> again = ReplicaLock::TryAcquire(*db_, "job");
    ASSERT_TRUE(again.ok()) << again.status();
    taken = *std::move(again);
    if (taken == nullptr) absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_NE(taken, nullptr);
  b->reset();  // its session is gone: nothing to unlock, and no error
}

INSTANTIATE_TEST_SUITE_P(Engines, StorageContract,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const ::testing::TestParamInfo<Engine>& info) {
                           return std::string(EngineName(info.param));
                         });

}  // namespace
}  // namespace dorset::runtime::storage
