// WAL checkpoints off the writer's thread (runtime/sqlite/wal_checkpointer.h) on real files and
// threads, through the storage lane's SQLite engine as the services use it: under a stream of
// commits the WAL file stays under its bound and the checkpoints run on the checkpointer, not in
// the writer's commits; past the bound the writer checkpoints itself; an idle WAL is truncated;
// a steady writer is not chased (passes paced, the writer finishes them, the WAL restarts); and
// a kill -9 during background checkpoints and finishes loses no acknowledged commit.
// With DORSET_SQLITE_CHECKPOINT=writer (the old behaviour) the first test fails.
#include "runtime/sqlite/wal_checkpointer.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "runtime/sqlite/database.h"
#include "runtime/storage/database.h"
#include "runtime/storage/sqlite/sqlite_engine.h"
#include "runtime/testing/temp_dir.h"

namespace dorset::runtime::storage {
namespace {

constexpr Migration kSchema[] = {
    {1, "item", "CREATE TABLE item(id INTEGER PRIMARY KEY, body BLOB NOT NULL)"}};
constexpr int64_t kFrameBytes = 4096 + 24;

struct Store {
  SqliteConnector* connector;  // owned by db
  std::unique_ptr<Database> db;
};

Store OpenStore(const std::string& path, sqlite::CheckpointOptions checkpoint) {
  auto connector = std::make_unique<SqliteConnector>(path, SqliteOptions{.checkpoint = checkpoint});
  SqliteConnector* raw = connector.get();
  absl::StatusOr<std::unique_ptr<Database>> db =
      Database::Open(std::move(connector), {.migrations = kSchema});
  EXPECT_TRUE(db.ok()) << db.status();
  return {raw, db.ok() ? *std::move(db) : nullptr};
}

absl::Status Insert(Database& db, int bytes) {
  return db.Write([&](Transaction& tx) -> absl::Status {
    absl::StatusOr<Statement> insert = tx.Prepare("INSERT INTO item(body) VALUES (randomblob(?))");
    if (!insert.ok()) return insert.status();
    return insert->Bind(1, bytes).Run();
  });
}

int64_t WalBytes(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path + "-wal", ec);
  return ec ? 0 : static_cast<int64_t>(size);
}

int64_t QueryInt(sqlite::Database& db, std::string_view sql) {
  auto stmt = db.Prepare(sql);
  EXPECT_TRUE(stmt.ok()) << stmt.status();
  auto row = stmt->Step();
  EXPECT_TRUE(row.ok() && *row) << sql;
  return stmt->Int(0);
}

// Commits `rows` small rows, one a transaction; `largest` is the WAL file's largest
// size seen after a commit.
void CommitRows(Database& db, const std::string& path, int rows, int64_t& largest) {
  for (int i = 0; i < rows; ++i) {
    ASSERT_TRUE(Insert(db, 100).ok());
    largest = std::max(largest, WalBytes(path));
  }
}

// 8,000 small commits back to back: the checkpointer keeps up, so the WAL restarts near the
// threshold and never reaches the writer's limit; no commit of the writer checkpointed.
TEST(WalCheckpointer, StreamOfCommitsStaysBoundedAndOffTheWriter) {
  dorset::testing::TempDir dir;
  const std::string path = dir.File("store.db");
  const sqlite::CheckpointOptions options;  // 1000 frames, the writer's limit at 10,000
  Store store = OpenStore(path, options);
  ASSERT_NE(store.db, nullptr);
  int64_t largest = 0;
  ASSERT_NO_FATAL_FAILURE(CommitRows(*store.db, path, 8000, largest));
  const sqlite::CheckpointCounts counts = store.connector->checkpoint_counts();
  RecordProperty("largest_wal_bytes", std::to_string(largest));
  RecordProperty("background", std::to_string(counts.background));
  RecordProperty("writer", std::to_string(counts.writer));
  EXPECT_LE(largest, (options.writer_limit_frames + 10) * kFrameBytes);
  EXPECT_GT(counts.background, 0);
  EXPECT_GT(counts.frames, 0);
  EXPECT_EQ(counts.writer, 0) << "checkpoints ran inside the writer's commits";
}

// A steady writer (commits back to back, each a few frames): the checkpointer does not chase it.
// One background pass per `pace_frames` of WAL at most, and the writer copies the few frames the
// pass left, so the WAL restarts about once a threshold (the copied frames count every cycle's
// frames once) and stays far below the writer's limit.
TEST(WalCheckpointer, SteadyWriterPacesThePassesAndTheWalRestarts) {
  dorset::testing::TempDir dir;
  const std::string path = dir.File("store.db");
  const sqlite::CheckpointOptions options{.threshold_frames = 200};
  Store store = OpenStore(path, options);
  ASSERT_NE(store.db, nullptr);
  int64_t largest = 0;
  ASSERT_NO_FATAL_FAILURE(CommitRows(*store.db, path, 6000, largest));
  const sqlite::CheckpointCounts counts = store.connector->checkpoint_counts();
  // Every frame the writer wrote is copied once (the frames counted): a pass per pace (a
  // threshold) of them, and one more a WAL cycle (a cycle is at least a threshold of frames).
  const int64_t thresholds = counts.frames / options.threshold_frames;
  RecordProperty("largest_wal_bytes", std::to_string(largest));
  RecordProperty("background", std::to_string(counts.background));
  RecordProperty("writer", std::to_string(counts.writer));
  RecordProperty("frames", std::to_string(counts.frames));
  std::printf("background %lld writer %lld frames %lld largest WAL %lld bytes\n",
              static_cast<long long>(counts.background), static_cast<long long>(counts.writer),
              static_cast<long long>(counts.frames), static_cast<long long>(largest));
  ASSERT_GE(thresholds, 5) << "too few frames copied";
  EXPECT_LE(counts.background, 2 * thresholds + 2) << "the checkpointer chased the writer";
  EXPECT_GT(counts.finish, 0) << "the writer never finished a pass";
  EXPECT_EQ(counts.writer, 0) << "the WAL reached the writer's limit";
  EXPECT_LE(largest, 4 * options.threshold_frames * kFrameBytes) << "the WAL did not restart";
}

// A reader holding an old snapshot keeps every checkpoint from copying past it, so the WAL cannot
// restart: the passes stay one per `pace_frames` of growth, and the writer tries to finish at
// most once a pass, not at every commit.
TEST(WalCheckpointer, ReaderHoldingTheWalDoesNotMakeEveryCommitCheckpoint) {
  dorset::testing::TempDir dir;
  const std::string path = dir.File("store.db");
  const sqlite::CheckpointOptions options{.threshold_frames = 100};
  Store store = OpenStore(path, options);
  ASSERT_NE(store.db, nullptr);
  ASSERT_TRUE(Insert(*store.db, 100).ok());
  absl::StatusOr<std::unique_ptr<sqlite::Database>> reader = sqlite::Database::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  ASSERT_TRUE((*reader)->Exec("BEGIN").ok());
  ASSERT_GE(QueryInt(**reader, "SELECT COUNT(*) FROM item"), 1);  // the snapshot is taken here
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE(Insert(*store.db, 100).ok());
  const int64_t wal_frames = WalBytes(path) / kFrameBytes;
  const sqlite::CheckpointCounts counts = store.connector->checkpoint_counts();
  std::printf("background %lld finish %lld writer %lld WAL frames %lld\n",
              static_cast<long long>(counts.background), static_cast<long long>(counts.finish),
              static_cast<long long>(counts.writer), static_cast<long long>(wal_frames));
  ASSERT_GE(wal_frames, 10 * options.threshold_frames) << "the WAL restarted under a reader";
  EXPECT_LE(counts.background, wal_frames / options.threshold_frames + 2);
  EXPECT_LE(counts.finish, counts.background);
  ASSERT_TRUE((*reader)->Exec("COMMIT").ok());
}

// The checkpointer never reaches its threshold here: every checkpoint is the writer's, at its
// limit, and the WAL file never grows much beyond it.
TEST(WalCheckpointer, WriterCheckpointsItselfAtTheLimit) {
  dorset::testing::TempDir dir;
  const std::string path = dir.File("store.db");
  const sqlite::CheckpointOptions options{.threshold_frames = 1000000, .writer_limit_frames = 200};
  Store store = OpenStore(path, options);
  ASSERT_NE(store.db, nullptr);
  int64_t largest = 0;
  ASSERT_NO_FATAL_FAILURE(CommitRows(*store.db, path, 2000, largest));
  const sqlite::CheckpointCounts counts = store.connector->checkpoint_counts();
  EXPECT_GT(counts.writer, 0);
  EXPECT_EQ(counts.background, 0);
  EXPECT_LE(largest, (options.writer_limit_frames + 10) * kFrameBytes);
}

// Once writes stop, the checkpointer truncates the WAL file to nothing.
TEST(WalCheckpointer, IdleWalIsTruncated) {
  dorset::testing::TempDir dir;
  const std::string path = dir.File("store.db");
  Store store = OpenStore(path, {.threshold_frames = 50, .idle = absl::Milliseconds(100)});
  ASSERT_NE(store.db, nullptr);
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(Insert(*store.db, 100).ok());
  ASSERT_GT(WalBytes(path), 0);
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (WalBytes(path) > 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(WalBytes(path), 0);
  EXPECT_GT(store.connector->checkpoint_counts().background, 0);
}

// A child commits rows of about a page and reports each commit after it returned, with how many
// background checkpoints and writer's finishes had run; with a threshold of 20 frames both run
// every few commits. Killed with SIGKILL once 30 of each ran, every reported row must be there.
TEST(WalCheckpointer, KillNineDuringBackgroundCheckpointsLosesNoAcknowledgedCommit) {
  dorset::testing::TempDir dir;
  const std::string path = dir.File("store.db");
  int acks[2];
  ASSERT_EQ(pipe(acks), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(acks[0]);
    Store store = OpenStore(
        path, {.threshold_frames = 20, .finish_frames = 20, .writer_limit_frames = 100000});
    if (store.db == nullptr) _exit(2);
    for (int64_t i = 1;; ++i) {
      if (absl::Status s = Insert(*store.db, 3000); !s.ok()) {
        fprintf(stderr, "child: %s\n", s.ToString().c_str());
        _exit(3);
      }
      const sqlite::CheckpointCounts counts = store.connector->checkpoint_counts();
      const int64_t ack[3] = {i, counts.background, counts.finish};
      if (write(acks[1], ack, sizeof(ack)) != sizeof(ack)) _exit(4);
    }
  }
  close(acks[1]);
  int64_t ack[3] = {0, 0, 0};
  const absl::Time deadline = absl::Now() + absl::Seconds(120);
  while ((ack[1] < 30 || ack[2] < 30 || ack[0] < 300) && absl::Now() < deadline) {
    ASSERT_EQ(read(acks[0], ack, sizeof(ack)), static_cast<ssize_t>(sizeof(ack)));
  }
  kill(child, SIGKILL);
  EXPECT_GE(ack[1], 30) << "too few background checkpoints before the kill";
  EXPECT_GE(ack[2], 30) << "too few writer's finishes before the kill";
  int status = 0;
  waitpid(child, &status, 0);
  close(acks[0]);
  ASSERT_TRUE(WIFSIGNALED(status));
  absl::StatusOr<std::unique_ptr<sqlite::Database>> db = sqlite::Database::Open(path);
  ASSERT_TRUE(db.ok()) << db.status();
  // Rows are numbered from 1 in commit order: the acknowledged ones are 1..ack[0].
  EXPECT_GE(QueryInt(**db, "SELECT COUNT(*) FROM item"), ack[0]);
  EXPECT_EQ(QueryInt(**db, absl::StrCat("SELECT COUNT(*) FROM item WHERE id <= ", ack[0])), ack[0]);
  EXPECT_EQ(QueryInt(**db,
                     "SELECT COUNT(*) FROM pragma_integrity_check WHERE "
                     "integrity_check != 'ok'"),
            0);
}

}  // namespace
}  // namespace dorset::runtime::storage
