// WAL checkpoints of one SQLite database off its writer's thread (issue 16). SQLite's
// autocheckpoint runs inside the COMMIT of the transaction that takes the WAL past 1000 frames,
// on the committing thread: for the storage lane's group writer that is ~8.5 ms (pages copied
// from the WAL into the database file, two fdatasyncs) during which that group and every write
// queued behind it wait (bench/README.md, session 14). Instead, a writer connection reports the
// WAL's size after each commit (sqlite3_wal_hook, which also replaces the autocheckpoint) and a
// thread with its own connection runs a PASSIVE checkpoint when it passes `threshold_frames`;
// PASSIVE takes no lock a writer waits for.
//
// Paced, not chasing (session 19). A WAL file restarts from its start only when a writer begins
// a transaction after a checkpoint that copied every frame (and no reader still reads older ones).
// A busy writer appends during a background pass and has begun its next transaction before the
// pass ends, so passes run one after another, each syncing both files, chased the writer (8-16
// passes per 1,000 postings, bench/README.md sessions 18-19). So:
// - one background pass when a commit leaves `threshold_frames`; the next no sooner than the WAL
//   has grown `pace_frames` past the frames that pass was asked at;
// - if a pass left at most `finish_frames` uncopied when the writer next commits, that commit's
//   wal hook copies them (PASSIVE on the writer's connection, between its transactions: with no
//   other writer it copies every frame, so its next transaction restarts the WAL). That costs the
//   writer two syncs and a few frames once a WAL cycle. At most one such finish per background
//   pass, so a reader holding old frames cannot make the writer checkpoint at every commit.
//
// The WAL stays bounded: should the checkpointer fall behind, a commit that leaves more than
// `writer_limit_frames` in the WAL checkpoints on the writer's thread as SQLite did (PASSIVE).
// After `idle` without a commit the checkpointer tries TRUNCATE, which shrinks the file to
// nothing; it gives up at once (busy timeout 0) rather than keep a writer waiting.
//
// Durability: every checkpoint is SQLite's own, synchronous=FULL (the checkpointer's connection
// through the WAL batch VFS, the writer's as it is): it copies only frames the wal-index header
// says were committed, which the writer published after writing and fdatasyncing them, and it
// syncs the database file before it records the frames as copied. docs/storage.md, "WAL
// checkpoints off the writer's thread".
//
// DORSET_SQLITE_CHECKPOINT=writer (read at Start) checkpoints on the writer at
// `threshold_frames` as SQLite's autocheckpoint did, with no thread: the old behaviour, for A/B.
//
//   ASSIGN_OR_RETURN(std::shared_ptr<WalCheckpointer> checkpointer,
//                    WalCheckpointer::Start(path, {}));
//   checkpointer->Attach(writer->handle());  // the writer closes before the checkpointer goes
#ifndef DORSET_RUNTIME_SQLITE_WAL_CHECKPOINTER_H_
#define DORSET_RUNTIME_SQLITE_WAL_CHECKPOINTER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

struct sqlite3;

namespace dorset::runtime::sqlite {

class Database;

struct CheckpointOptions {
  // A PASSIVE checkpoint once a commit leaves at least this many frames in the WAL (SQLite's
  // autocheckpoint default).
  int threshold_frames = 1000;
  // After a background pass, the next waits until the WAL has grown this many frames past the
  // size that pass was asked at (0: threshold_frames).
  int pace_frames = 0;
  // The writer copies what a background pass left itself when that is at most this many frames
  // (0: threshold_frames / 4).
  int finish_frames = 0;
  // The writer checkpoints itself once a commit leaves at least this many (the WAL's bound).
  int writer_limit_frames = 10000;
  // TRUNCATE after this long without a commit.
  absl::Duration idle = absl::Seconds(2);
  // On the writer's thread as SQLite's autocheckpoint did (DORSET_SQLITE_CHECKPOINT=writer).
  bool on_writer = false;
};

// What checkpoints did (tests; the metrics count the same for the whole process).
struct CheckpointCounts {
  int64_t background = 0;  // checkpoints the checkpointer ran (PASSIVE and TRUNCATE)
  int64_t writer = 0;      // checkpoints inside a writer's commit at its limit (or on_writer)
  int64_t finish = 0;      // checkpoints inside a writer's commit copying what a pass left
  int64_t frames = 0;      // frames copied into the database file (as the checkpoints report)
};

class WalCheckpointer {
 public:
  // For the database at `path`, already in WAL mode. DORSET_SQLITE_CHECKPOINT=writer sets
  // `on_writer`.
  static absl::StatusOr<std::shared_ptr<WalCheckpointer>> Start(const std::string& path,
                                                                CheckpointOptions options);
  // Stops the thread and closes its connection (a final checkpoint when it is the last).
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Reports `writer`'s commits here (its wal hook; SQLite's autocheckpoint is off with it) and
  // limits its WAL file to a few thresholds after a restart. `writer` must close first.
  void Attach(sqlite3* writer);

  CheckpointCounts counts() const;
  bool on_writer() const { return options_.on_writer; }

 private:
  WalCheckpointer(CheckpointOptions options, std::unique_ptr<Database> db);
  enum class By { kCheckpointer, kWriter, kFinish };
  struct Outcome {
    bool ran = false;  // not busy, no error
    bool all = false;  // every frame of the WAL is now copied
    int copied = 0;    // frames of the WAL copied in all (by this checkpoint and earlier ones)
  };
  static int OnCommit(void* self, sqlite3* db, const char* name, int frames);
  void Loop();
  // One checkpoint of `mode` on `db` (the checkpointer's or, on the writer, its own); counts it.
  Outcome Checkpoint(sqlite3* db, const char* name, int mode, By by);
  // The WAL restarted (or is about to): a new cycle.
  void NewCycle(int frames) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const CheckpointOptions options_;
  std::unique_ptr<Database> db_;  // null when on_writer
  std::atomic<int64_t> commits_{0};
  std::atomic<int64_t> background_{0};
  std::atomic<int64_t> writer_{0};
  std::atomic<int64_t> finish_{0};
  std::atomic<int64_t> frames_{0};
  std::atomic<int64_t> last_copied_{0};  // what the last checkpoint reported copied in all
  absl::Mutex mu_;
  bool pending_ ABSL_GUARDED_BY(mu_) = false;     // a pass asked for, not started
  bool running_ ABSL_GUARDED_BY(mu_) = false;     // a pass asked for, not finished
  int last_frames_ ABSL_GUARDED_BY(mu_) = 0;      // the WAL's frames at the last commit
  int64_t cycle_ ABSL_GUARDED_BY(mu_) = 0;        // WAL restarts seen (a drop in frames)
  int next_pass_at_ ABSL_GUARDED_BY(mu_);         // frames from which a commit asks for a pass
  bool finishable_ ABSL_GUARDED_BY(mu_) = false;  // a pass of this cycle ran, not yet finished
  int pass_copied_ ABSL_GUARDED_BY(mu_) = 0;      // what it reported copied in all
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: starts after every other member
};

// Process-wide totals of every checkpointer (the server's metrics).
CheckpointCounts ProcessCheckpointCounts();

}  // namespace dorset::runtime::sqlite

#endif  // DORSET_RUNTIME_SQLITE_WAL_CHECKPOINTER_H_
