// The WAL-gathering VFS (runtime/sqlite/wal_batch_vfs.h) on real files: other connections see
// every commit, a rolled-back transaction whose frames spilled into the WAL leaves nothing behind
// for the next writer, checkpoints from other connections, and a kill -9 loses no acknowledged
// commit.
#include "runtime/sqlite/wal_batch_vfs.h"

#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "runtime/sqlite/database.h"
#include "runtime/testing/temp_dir.h"

namespace dorset::runtime::sqlite {
namespace {

std::unique_ptr<Database> OpenOrDie(const std::string& path, OpenOptions options = {}) {
  auto db = Database::Open(path, options);
  EXPECT_TRUE(db.ok()) << db.status();
  return db.ok() ? *std::move(db) : nullptr;
}

int64_t QueryInt(Database& db, std::string_view sql) {
  auto stmt = db.Prepare(sql);
  EXPECT_TRUE(stmt.ok()) << stmt.status();
  auto row = stmt->Step();
  EXPECT_TRUE(row.ok() && *row) << sql;
  return stmt->Int(0);
}

std::string VfsOf(Database& db) {
  sqlite3_vfs* vfs = nullptr;
  sqlite3_file_control(db.handle(), "main", SQLITE_FCNTL_VFS_POINTER, &vfs);
  return vfs != nullptr ? vfs->zName : "";
}

constexpr std::string_view kSchema =
    "CREATE TABLE item(id INTEGER PRIMARY KEY, body BLOB NOT NULL)";

class WalBatchVfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(WalBatchVfsName(), nullptr);
    writer_ = OpenOrDie(path_);
    ASSERT_TRUE(writer_->Exec(kSchema).ok());
  }
  // One committed transaction of `rows` rows of 3000 bytes (about a page each).
  absl::Status Insert(Database& db, int rows) {
    auto tx = Transaction::Begin(db);
    if (!tx.ok()) return tx.status();
    auto stmt = db.Prepare("INSERT INTO item(body) VALUES (randomblob(3000))");
    if (!stmt.ok()) return stmt.status();
    for (int i = 0; i < rows; ++i) {
      if (absl::Status s = stmt->Run(); !s.ok()) return s;
      stmt->Reset();
    }
    return tx->Commit();
  }

  dorset::testing::TempDir dir_;
  std::string path_ = dir_.File("store.db");
  std::unique_ptr<Database> writer_;
};

TEST_F(WalBatchVfsTest, FullSyncConnectionsUseItAndNormalOnesDoNot) {
  EXPECT_EQ(VfsOf(*writer_), WalBatchVfsName());
  auto normal = OpenOrDie(path_, {.full_sync = false});
  EXPECT_NE(VfsOf(*normal), WalBatchVfsName());
  EXPECT_EQ(QueryInt(*normal, "PRAGMA synchronous"), 1);
}

TEST_F(WalBatchVfsTest, RefusesToLowerSynchronous) {
  EXPECT_FALSE(writer_->Exec("PRAGMA synchronous=NORMAL").ok());
  EXPECT_FALSE(writer_->Exec("PRAGMA synchronous=OFF").ok());
  EXPECT_FALSE(writer_->Exec("PRAGMA synchronous=1").ok());
  EXPECT_TRUE(writer_->Exec("PRAGMA synchronous=EXTRA").ok());
  EXPECT_TRUE(writer_->Exec("PRAGMA synchronous=FULL").ok());
  EXPECT_EQ(QueryInt(*writer_, "PRAGMA synchronous"), 2);
}

TEST_F(WalBatchVfsTest, ReadersInOtherConnectionsSeeEveryCommit) {
  auto reader = OpenOrDie(path_);
  auto normal_reader = OpenOrDie(path_, {.full_sync = false});  // the default VFS's reads
  for (int i = 1; i <= 60; ++i) {
    ASSERT_TRUE(Insert(*writer_, i % 7 + 1).ok());
    const int64_t written = QueryInt(*writer_, "SELECT COUNT(*) FROM item");
    EXPECT_EQ(QueryInt(*reader, "SELECT COUNT(*) FROM item"), written);
    EXPECT_EQ(QueryInt(*normal_reader, "SELECT COUNT(*) FROM item"), written);
    EXPECT_EQ(QueryInt(*reader, "SELECT SUM(length(body)) FROM item"), written * 3000);
  }
  EXPECT_EQ(QueryInt(*reader,
                     "SELECT COUNT(*) FROM pragma_integrity_check WHERE "
                     "integrity_check != 'ok'"),
            0);
}

TEST_F(WalBatchVfsTest, RolledBackSpillLeavesNothingForTheNextWriter) {
  ASSERT_TRUE(Insert(*writer_, 5).ok());
  // A tiny cache makes a big transaction spill frames into the WAL before its commit.
  ASSERT_TRUE(writer_->Exec("PRAGMA cache_size=8").ok());
  {
    auto tx = Transaction::Begin(*writer_);
    ASSERT_TRUE(tx.ok());
    for (int i = 0; i < 200; ++i) {
      ASSERT_TRUE(writer_->Exec("INSERT INTO item(body) VALUES (randomblob(3000))").ok());
    }
  }  // rolled back
  // Another connection writes where the spilled frames were, and commits.
  auto other = OpenOrDie(path_);
  {
    absl::Status inserted = Insert(*other, 30);
    ASSERT_TRUE(inserted.ok()) << inserted;
  }
  // The first writer goes on; nothing it gathered before may land over the other's frames.
  ASSERT_TRUE(Insert(*writer_, 3).ok());
  ASSERT_TRUE(Insert(*other, 2).ok());
  auto fresh = OpenOrDie(path_);
  EXPECT_EQ(QueryInt(*fresh, "SELECT COUNT(*) FROM item"), 5 + 30 + 3 + 2);
  EXPECT_EQ(QueryInt(*fresh,
                     "SELECT COUNT(*) FROM pragma_integrity_check WHERE "
                     "integrity_check != 'ok'"),
            0);
}

TEST_F(WalBatchVfsTest, CheckpointsFromOtherConnections) {
  auto checkpointer = OpenOrDie(path_);
  auto reader = OpenOrDie(path_);
  for (int round = 0; round < 20; ++round) {
    ASSERT_TRUE(Insert(*writer_, 4).ok());
    const char* mode = round % 3 == 0 ? "TRUNCATE" : round % 3 == 1 ? "RESTART" : "PASSIVE";
    ASSERT_TRUE(checkpointer->Exec(absl::StrCat("PRAGMA wal_checkpoint(", mode, ")")).ok());
    EXPECT_EQ(QueryInt(*reader, "SELECT COUNT(*) FROM item"), 4 * (round + 1));
  }
  writer_.reset();
  checkpointer.reset();
  reader.reset();
  auto fresh = OpenOrDie(path_);
  EXPECT_EQ(QueryInt(*fresh, "SELECT COUNT(*) FROM item"), 80);
  EXPECT_EQ(QueryInt(*fresh,
                     "SELECT COUNT(*) FROM pragma_integrity_check WHERE "
                     "integrity_check != 'ok'"),
            0);
}

// A child commits transactions and reports each after its commit returned; killed with SIGKILL
// in the middle of a later (large, spilling) transaction, every reported commit must be there.
TEST_F(WalBatchVfsTest, KillNineLosesNoAcknowledgedCommit) {
  writer_.reset();
  int acks[2];
  ASSERT_EQ(pipe(acks), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(acks[0]);
    auto db = Database::Open(path_);
    if (!db.ok()) _exit(2);
    (void)(*db)->Exec("PRAGMA cache_size=16");
    for (int i = 1;; ++i) {
      // Every fifth transaction spills (40 rows); the others are group-commit sized.
      auto tx = Transaction::Begin(**db);
      if (!tx.ok()) _exit(3);
      const int rows = i % 5 == 0 ? 40 : 3;
      for (int r = 0; r < rows; ++r) {
        if (absl::Status s = (*db)->Exec("INSERT INTO item(body) VALUES (randomblob(3000))");
            !s.ok()) {
          fprintf(stderr, "child: %s\n", s.ToString().c_str());
          _exit(4);
        }
      }
      if (absl::Status s = tx->Commit(); !s.ok()) {
        fprintf(stderr, "child: %s\n", s.ToString().c_str());
        _exit(5);
      }
      const int64_t total = QueryInt(**db, "SELECT COUNT(*) FROM item");
      if (write(acks[1], &total, sizeof(total)) != sizeof(total)) _exit(6);
    }
  }
  close(acks[1]);
  int64_t acknowledged = 0;
  for (int i = 0; i < 37; ++i) {
    ASSERT_EQ(read(acks[0], &acknowledged, sizeof(acknowledged)),
              static_cast<ssize_t>(sizeof(acknowledged)));
  }
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  close(acks[0]);
  ASSERT_TRUE(WIFSIGNALED(status));
  auto db = OpenOrDie(path_);
  EXPECT_GE(QueryInt(*db, "SELECT COUNT(*) FROM item"), acknowledged);
  EXPECT_EQ(QueryInt(*db,
                     "SELECT COUNT(*) FROM pragma_integrity_check WHERE "
                     "integrity_check != 'ok'"),
            0);
}

}  // namespace
}  // namespace dorset::runtime::sqlite
