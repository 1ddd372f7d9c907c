#include "runtime/sqlite/wal_checkpointer.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdlib>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/base/thread_name.h"
#include "runtime/logging/log.h"
#include "runtime/sqlite/database.h"
#include "runtime/status/status_macros.h"

namespace dorset::runtime::sqlite {
namespace {

struct Totals {
  std::atomic<int64_t> background{0};
  std::atomic<int64_t> writer{0};
  std::atomic<int64_t> finish{0};
  std::atomic<int64_t> frames{0};
};

Totals& ProcessTotals() {
  static Totals* totals = new Totals;  // never destroyed: checkpointers may outlive main
  return *totals;
}

bool OnWriterFromEnv() {
  const char* value = std::getenv("DORSET_SQLITE_CHECKPOINT");
  return value != nullptr && std::string_view(value) == "writer";
}

// journal_size_limit: a WAL file grown past a few thresholds (the writer fell back, or a large
// transaction) is cut back when the WAL next restarts; below it the file is reused as it is, so
// a commit's fdatasync need not write the file's new size.
int64_t JournalSizeLimit(const CheckpointOptions& options) {
  return int64_t{4} * options.threshold_frames * (4096 + 24);
}

}  // namespace

absl::StatusOr<std::shared_ptr<WalCheckpointer>> WalCheckpointer::Start(const std::string& path,
                                                                        CheckpointOptions options) {
  if (OnWriterFromEnv()) options.on_writer = true;
  if (options.pace_frames <= 0) options.pace_frames = options.threshold_frames;
  if (options.finish_frames <= 0) options.finish_frames = std::max(1, options.threshold_frames / 4);
  std::unique_ptr<Database> db;
  if (!options.on_writer) {
    // synchronous=FULL (through the WAL batch VFS): a checkpoint syncs the WAL before it reads
    // it and the database file before it records the frames as copied.
    ASSIGN_OR_RETURN(db, Database::Open(path));
    RETURN_IF_ERROR(
        db->Exec(absl::StrCat("PRAGMA journal_size_limit=", JournalSizeLimit(options))));
    // Busy timeout 0 once open (the open itself waits as any connection does): a TRUNCATE that
    // would wait for the writer or a reader gives up at once.
    sqlite3_busy_timeout(db->handle(), 0);
  }
  std::shared_ptr<WalCheckpointer> checkpointer(new WalCheckpointer(options, std::move(db)));
  return checkpointer;
}

WalCheckpointer::WalCheckpointer(CheckpointOptions options, std::unique_ptr<Database> db)
    : options_(options), db_(std::move(db)), next_pass_at_(options.threshold_frames) {
  if (db_ != nullptr) {
    thread_ = std::thread([this] {
      NameThisThread("wal-checkpoint");
      Loop();
    });
  }
}

WalCheckpointer::~WalCheckpointer() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void WalCheckpointer::Attach(sqlite3* writer) {
  // Replaces SQLite's autocheckpoint (itself a wal hook): wal_autocheckpoint=0 in effect.
  sqlite3_wal_hook(writer, &WalCheckpointer::OnCommit, this);
  (void)sqlite3_exec(writer,
                     absl::StrCat("PRAGMA journal_size_limit=", JournalSizeLimit(options_)).c_str(),
                     nullptr, nullptr, nullptr);
}

int WalCheckpointer::OnCommit(void* arg, sqlite3* db, const char* name, int frames) {
  auto* self = static_cast<WalCheckpointer*>(arg);
  self->commits_.fetch_add(1, std::memory_order_relaxed);
  const CheckpointOptions& options = self->options_;
  if (frames >= (options.on_writer ? options.threshold_frames : options.writer_limit_frames)) {
    // SQLite's own autocheckpoint does the same here (sqlite3WalDefaultHook): PASSIVE on the
    // committing connection, its outcome ignored (the commit has happened).
    const Outcome outcome = self->Checkpoint(db, name, SQLITE_CHECKPOINT_PASSIVE, By::kWriter);
    if (outcome.all && !options.on_writer) {
      absl::MutexLock lock(&self->mu_);
      self->NewCycle(0);
    }
    return SQLITE_OK;  // an error here would fail a statement whose commit has happened
  }
  if (options.on_writer) return SQLITE_OK;
  bool finish = false;
  {
    absl::MutexLock lock(&self->mu_);
    if (frames < self->last_frames_) self->NewCycle(frames);  // this commit restarted the WAL
    self->last_frames_ = frames;
    if (self->finishable_) {
      // Once per pass: if a reader kept this from copying every frame, the next paced pass
      // tries again.
      self->finishable_ = false;
      finish = frames - self->pass_copied_ <= options.finish_frames;
    }
    if (!finish && !self->running_ && frames >= self->next_pass_at_) {
      self->running_ = true;
      self->pending_ = true;
      self->next_pass_at_ = frames + options.pace_frames;
    }
  }
  if (finish) {
    // Between two of the writer's transactions: nothing is appended while this runs, so unless a
    // reader holds older frames it copies every frame and the next transaction restarts the WAL.
    self->Checkpoint(db, name, SQLITE_CHECKPOINT_PASSIVE, By::kFinish);
  }
  return SQLITE_OK;
}

void WalCheckpointer::NewCycle(int frames) {
  ++cycle_;
  last_frames_ = frames;
  next_pass_at_ = options_.threshold_frames;
  finishable_ = false;
}

WalCheckpointer::Outcome WalCheckpointer::Checkpoint(sqlite3* db, const char* name, int mode,
                                                     By by) {
  int log = 0;
  int copied = 0;
  const int rc = sqlite3_wal_checkpoint_v2(db, name, mode, &log, &copied);
  // SQLITE_BUSY: another checkpoint was running (the writer's or ours), or a TRUNCATE found the
  // writer or a reader in the way; the next commit or idle period tries again.
  if ((rc & 0xff) == SQLITE_BUSY) return {};
  if (rc != SQLITE_OK) {
    runtime::log::Warn("WAL checkpoint failed",
                       {{"error", std::string(sqlite3_errstr(rc))},
                        {"by_writer", by != By::kCheckpointer ? "yes" : "no"}});
    return {};
  }
  switch (by) {
    case By::kCheckpointer:
      background_.fetch_add(1, std::memory_order_relaxed);
      ProcessTotals().background.fetch_add(1, std::memory_order_relaxed);
      break;
    case By::kWriter:
      writer_.fetch_add(1, std::memory_order_relaxed);
      ProcessTotals().writer.fetch_add(1, std::memory_order_relaxed);
      break;
    case By::kFinish:
      finish_.fetch_add(1, std::memory_order_relaxed);
      ProcessTotals().finish.fetch_add(1, std::memory_order_relaxed);
      break;
  }
  if (copied > 0) {
    // The frames this checkpoint copied: it reports how many of the WAL's frames are copied in
    // all, so what the last one reported of the same WAL is taken off (a restarted WAL counts
    // from nothing; an estimate across a restart, exact otherwise).
    const int64_t last = last_copied_.exchange(copied, std::memory_order_relaxed);
    const int64_t delta = copied >= last ? copied - last : copied;
    frames_.fetch_add(delta, std::memory_order_relaxed);
    ProcessTotals().frames.fetch_add(delta, std::memory_order_relaxed);
  }
  return {.ran = true, .all = log >= 0 && copied == log, .copied = copied};
}

void WalCheckpointer::Loop() {
  sqlite3* const db = db_->handle();
  int64_t seen = commits_.load(std::memory_order_relaxed);
  bool dirty = false;  // commits since the last TRUNCATE
  while (true) {
    bool woke = false;
    int64_t cycle = 0;
    {
      absl::MutexLock lock(&mu_);
      auto wake = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return pending_ || stopping_; };
      woke = mu_.AwaitWithTimeout(absl::Condition(&wake), options_.idle);
      if (stopping_) return;
      pending_ = false;
      cycle = cycle_;
    }
    const int64_t now = commits_.load(std::memory_order_relaxed);
    if (woke) {
      // One pass, asked for by a commit at the threshold or `pace_frames` past the last pass.
      const Outcome outcome = Checkpoint(db, "main", SQLITE_CHECKPOINT_PASSIVE, By::kCheckpointer);
      dirty = true;
      absl::MutexLock lock(&mu_);
      running_ = false;
      // Even a pass that copied every frame it saw rarely restarts the WAL: the writer's next
      // transaction must begin after it, and a busy writer began it during the pass. Its next
      // commit copies what is left (a few frames), and the transaction after that restarts.
      if (outcome.ran && cycle == cycle_) {
        finishable_ = true;
        pass_copied_ = outcome.copied;
      }
    } else if (now != seen) {
      dirty = true;  // written to in the last period: not idle yet
    } else if (dirty) {
      if (Checkpoint(db, "main", SQLITE_CHECKPOINT_TRUNCATE, By::kCheckpointer).all) {
        dirty = false;
        absl::MutexLock lock(&mu_);
        NewCycle(0);
      }
    }
    seen = now;
  }
}

CheckpointCounts WalCheckpointer::counts() const {
  return {.background = background_.load(std::memory_order_relaxed),
          .writer = writer_.load(std::memory_order_relaxed),
          .finish = finish_.load(std::memory_order_relaxed),
          .frames = frames_.load(std::memory_order_relaxed)};
}

CheckpointCounts ProcessCheckpointCounts() {
  Totals& totals = ProcessTotals();
  return {.background = totals.background.load(std::memory_order_relaxed),
          .writer = totals.writer.load(std::memory_order_relaxed),
          .finish = totals.finish.load(std::memory_order_relaxed),
          .frames = totals.frames.load(std::memory_order_relaxed)};
}

}  // namespace dorset::runtime::sqlite
