// The audit trail of one service: an append-only table `audit_event` (UPDATE and DELETE are
// refused by triggers) holding who did what to which resource, when, with which request id and
// outcome. Where it lives follows the service's store: on SQLite, `audit.db` in the service's
// data directory (embedded, one trail per process); with `database` = postgres://... (several
// replicas), the table in that shared PostgreSQL database (its own steps, recorded in
// audit_schema_migrations), so every replica writes one trail and ListAuditEvents on any
// replica sees every replica's events. Sequence numbers are in commit order on both: SQLite
// has one writer; on PostgreSQL every replica's group of events is appended under one queue
// (Database::WriteQueued: a lock taken before the transaction), so a reader that has seen
// sequence N has seen every event below N and keyset paging by sequence never skips one.
//
// The server interceptor records every call that needs a write permission (whatever its
// outcome), every call refused as UNAUTHENTICATED or PERMISSION_DENIED, and every call whose
// handler returned personal data (Caller::NotePersonalDataRead). It records the event when the
// call's status is about to be sent and holds the reply until the event is committed: no call is
// acknowledged before its audit record is on disk (synchronous=FULL). Whatever has queued up is
// committed in ONE transaction, so concurrent calls share one fsync (group commit), and auditing
// never blocks a gRPC thread: by the writer thread, or, with DORSET_AUDIT_DEFER=on, for the
// calls a group committer completes (their replies released inside a runtime::CompletionBatch),
// by the completing thread itself when its batch closes (issue 16; off by default: measured
// slower, bench/README.md). One group is written at a time, in queue order.
//
// Calls a group committer completes can skip the second commit: their events are written in the
// group's own transaction, into the store's audit outbox (audit_outbox.h), and this log's writer
// moves the rows into the trail off the acknowledgement path (AttachOutbox): the reply waits for
// one commit, not two. Flush moves them first, so ListAuditEvents still sees every acknowledged
// write; the trail's sequence stays in commit order (the moves are appended like any group). On
// SQLite a write that only moves rows commits with synchronous=NORMAL (no fsync), and at least
// every second one write is a sync point (FULL); the stores delete moved rows only up to the
// trail's last sync point, so a power loss that takes the unsynced moves leaves their rows to be
// moved again (docs/security.md, "The trail's own sync").
//
// When the trail cannot be written (disk full, I/O error, read-only file) the writer keeps the
// events and retries in the background, but a waiting call is answered within kAckBudget with
// the storage error (RESOURCE_EXHAUSTED or UNAVAILABLE), the condition shows in Health() (and so
// in readiness) and in the metrics, and shutdown gives up after one last attempt, logging every
// event it could not write: nothing waits forever.
#ifndef DORSET_RUNTIME_AUDIT_AUDIT_LOG_H_
#define DORSET_RUNTIME_AUDIT_AUDIT_LOG_H_

#include <array>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "dorset/common/v1/audit.pb.h"
#include "runtime/api/page_token.h"
#include "runtime/audit/audit_outbox.h"
#include "runtime/config/config.h"
#include "runtime/sqlite/database.h"
#include "runtime/storage/database.h"

namespace prometheus {
class Counter;
class Gauge;
class Registry;
}  // namespace prometheus

namespace dorset::runtime {
namespace outbox_packing {
struct MovedEvents;
}

class AuditLog {
 public:
  // How long a call waits for its event while the trail cannot be written.
  static constexpr absl::Duration kAckBudget = absl::Seconds(2);
  // Events held in memory at most; beyond it, while the trail fails, new events are refused.
  static constexpr size_t kMaxQueued = 100000;

  // Runs once the event is committed (OK) or could not be within kAckBudget (the storage
  // error). Runs on the writer thread, outside every lock of the log: keep it short.
  using Durable = std::function<void(const absl::Status&)>;

  // `metrics` (may be null) receives dorset_audit_events_written_total,
  // dorset_audit_write_failures_total, dorset_audit_events_dropped_total,
  // dorset_audit_queued_events and dorset_audit_writable.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(const std::string& data_dir,
                                                        prometheus::Registry* metrics = nullptr);
  // Where the service's `database` setting says: audit.db in `data_dir` on SQLite (as above),
  // the shared PostgreSQL database otherwise (database_password_file for its password). Page
  // tokens are signed with page_token_key_file's key when set, so a page continues on another
  // replica. A PostgreSQL that cannot be reached yet is not an error: events wait and retry.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(const ServerConfig& config,
                                                        prometheus::Registry* metrics = nullptr);
  ~AuditLog();  // writes what is queued (one last attempt when failing), then stops

  // Queues one event (time is assigned here); `durable` (may be empty) runs once it is on disk
  // or with the error that kept it off. Never blocks for long.
  void Record(common::v1::AuditEvent event, Durable durable = nullptr);
  // Waits until everything recorded so far is committed (or given up) and every attached outbox
  // has been moved into the trail as it stood at the call, at most kAckBudget while the trail is
  // failing. False when events are still waiting.
  bool Flush();

  // Attaches the audit outbox of `store` (its `audit_outbox` table, audit_outbox.h): the rows an
  // earlier run left, and every group's afterwards, are moved into the trail by the writer.
  // `name` keys the store across restarts (the service's name). Null when the outbox cannot be
  // used here, and calls then record as before: DORSET_AUDIT_OUTBOX=off, the store not reachable
  // now or without the table, or a store this trail cannot move from exactly once (on PostgreSQL
  // another database than the trail's; on SQLite a store on PostgreSQL).
  std::unique_ptr<AuditOutbox> AttachOutbox(storage::Database& store, std::string name);

  // OK while the last write succeeded; otherwise the storage error (for readiness).
  absl::Status Health();

  // Tests only: runs on the writing thread right after each sync point of audit.db (a commit
  // with synchronous=FULL, or the checkpoint at open), before the trail is written again: what
  // the files hold then is what a power loss cannot take away.
  void SetSyncHookForTesting(std::function<void()> hook);

  // One page of the trail in sequence order (keyset paging, runtime/storage/keyset_page.h): the
  // page_token of the previous page, bound to the request's principal and after_sequence.
  absl::StatusOr<common::v1::ListAuditEventsResponse> List(
      const common::v1::ListAuditEventsRequest& request);

 private:
  struct Pending {
    common::v1::AuditEvent event;
    Durable durable;
    absl::Time deadline;  // when `durable` is answered with the error if still unwritten
  };
  struct Metrics {
    prometheus::Counter* written = nullptr;
    prometheus::Counter* failures = nullptr;
    prometheus::Counter* dropped = nullptr;
    prometheus::Gauge* queued = nullptr;
    prometheus::Gauge* writable = nullptr;
  };

  AuditLog(std::unique_ptr<sqlite::Database> db, std::unique_ptr<sqlite::Database> reader,
           std::unique_ptr<storage::Database> shared, PageTokenCodec page_tokens, Metrics metrics);
  static absl::StatusOr<std::unique_ptr<AuditLog>> OpenSqlite(const std::string& data_dir,
                                                              PageTokenCodec page_tokens,
                                                              prometheus::Registry* metrics);
  static absl::StatusOr<std::unique_ptr<AuditLog>> Create(std::unique_ptr<sqlite::Database> db,
                                                          std::unique_ptr<sqlite::Database> reader,
                                                          std::unique_ptr<storage::Database> shared,
                                                          PageTokenCodec page_tokens,
                                                          prometheus::Registry* metrics);
  friend class AuditOutbox;
  // An outbox's group committed rows: the writer moves them within kMoveInterval.
  void NoteOutboxRows();
  // Moves what `outbox` holds (bounded like Flush), then forgets it.
  void Detach(AuditOutbox* outbox);
  bool MoveWanted() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !outboxes_.empty() && (outbox_rows_ || move_requests_ != moves_done_);
  }
  // SQLite: the trail's moves since its last sync point call for one now (see kSyncInterval in
  // audit_log.cc): at the interval, beyond kSyncBacklog moved events, when asked (Detach) or at
  // shutdown.
  bool SyncWanted(absl::Time now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return unsynced_events_ > 0 &&
           (stopping_ || sync_requests_ != syncs_done_ || now >= last_sync_ + sync_interval_ ||
            unsynced_events_ >= kSyncBacklog);
  }
  // What one write moved from the outboxes (SQLite: each source's new mark, set after commit).
  struct Moved {
    std::vector<std::pair<AuditOutbox*, int64_t>> marks;
    size_t events = 0;
    bool more = false;  // a source held more than one write takes
  };
  void WriterLoop();
  // Run at the close of the CompletionBatch of a thread that recorded events inside it: writes
  // what is queued on that thread, unless a group is being written or the trail is failing
  // (then the writer thread takes them).
  void WriteDeferred();
  // Writes `batch`, after the rows of `sources` not yet in the trail (in their id order), in one
  // transaction of the trail. SQLite: with `sync` the commit is synchronous=FULL, a sync point
  // (it makes every earlier commit of the trail durable too); without it (only moves, nothing a
  // call waits for) synchronous=NORMAL. A `sync_point` (unsynced moves want one) with nothing
  // to write saves the marks again, so the commit writes (and syncs) something. PostgreSQL:
  // every commit is durable (`sync` unused).
  absl::Status WriteBatch(const std::vector<Pending>& batch,
                          const std::vector<AuditOutbox*>& sources = {}, Moved* moved = nullptr,
                          bool sync = true, bool sync_point = false);
  // The moves, in the trail's transaction (audit_outbox.cc). SQLite: reads the rows past the
  // source's mark from its store, packed groups and older single-event rows alike, in id order,
  // and adds their events to `events` for the caller to append in that order; an attached store
  // (AttachSqlite attaches it, outside a transaction: SQLite refuses ATTACH inside one, at its
  // first move) is read by the trail's own transaction, any other through the store's pool.
  // PostgreSQL: one statement deletes older rows from the outbox of the same database and appends
  // them to the trail.
  absl::Status MoveFromSqlite(AuditOutbox& source, outbox_packing::MovedEvents& events,
                              Moved& moved);
  void AttachSqlite(AuditOutbox& source);
  // SQLite: audit.db's mark for `source` (the highest outbox id in the trail), in the move's
  // transaction.
  absl::Status SaveMark(AuditOutbox& source, int64_t last);
  // PostgreSQL: moves the oldest outbox rows (kMaxMove at most) into audit_event in outbox order
  // with one statement of the trail's transaction `tx`; `moved` counts them.
  absl::Status MoveFromPostgres(storage::Transaction& tx, Moved& moved);
  // The next group from the front of the queue; the caller becomes the one writing.
  std::vector<Pending> TakeBatch() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A group that failed goes back to the front of the queue, in order; writing ends.
  void PutBack(std::vector<Pending>& batch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A committed group: counted as settled, writing ends, then its calls are released.
  // `moved` (may be null): what the write moved from the outboxes; `ticket`: the move requests
  // it answers (Flush).
  // `synced`: the commit was a sync point (SQLite: every attached outbox may now delete up to
  // what the trail holds; `sync_ticket`: the sync requests it answers).
  void Settle(std::vector<Pending>& batch, const Moved* moved = nullptr, uint64_t ticket = 0,
              bool synced = true, uint64_t sync_ticket = 0) ABSL_LOCKS_EXCLUDED(mu_);
  // Takes the callbacks of queued events whose deadline passed.
  std::vector<Durable> TakeExpired(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Drop(const common::v1::AuditEvent& event, const absl::Status& why);

  // SQLite: db_ (used by the one writing: writing_) and reader_; PostgreSQL: shared_ only (its
  // own pool).
  std::unique_ptr<sqlite::Database> db_;
  // db_'s multi-row INSERTs, by shape (audit_rows::InsertEvents), each prepared at its first use.
  std::array<std::unique_ptr<sqlite::Statement>, 7> inserts_;
  std::unique_ptr<sqlite::Statement> save_mark_;  // db_'s kSaveMark, prepared at its first use
  // db_'s synchronous level now (the writer connection is opened NORMAL and switched per write).
  bool full_sync_now_ = false;
  int attached_count_ = 0;  // names the stores attached to db_
  absl::Mutex reader_mu_;
  std::unique_ptr<sqlite::Database> reader_ ABSL_GUARDED_BY(reader_mu_);
  std::unique_ptr<storage::Database> shared_;
  const PageTokenCodec page_tokens_;  // signs ListAuditEvents' page tokens
  const Metrics metrics_;
  const bool defer_;  // completing threads write their batches' events (DORSET_AUDIT_DEFER)
  // DORSET_AUDIT_TRAIL_SYNC: `each` syncs every write of the trail (before session 15); otherwise
  // a duration, the longest a move stays unsynced (kSyncInterval by default).
  const bool sync_each_;
  const absl::Duration sync_interval_;
  absl::Mutex mu_;
  std::function<void()> sync_hook_ ABSL_GUARDED_BY(mu_);  // SetSyncHookForTesting
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);
  uint64_t recorded_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t settled_ ABSL_GUARDED_BY(mu_) = 0;  // written or given up
  absl::Status failure_ ABSL_GUARDED_BY(mu_);  // the last write's error while failing
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // One group is written at a time, by the writer thread or by a completing thread
  // (WriteDeferred); the queue is the only place unwritten events wait, in order.
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  // Open CompletionBatches that will write what is queued when they close: the writer thread
  // leaves the queue to them meanwhile.
  int deferring_ ABSL_GUARDED_BY(mu_) = 0;
  // Attached outboxes (AttachOutbox); their rows are moved by the writer thread only.
  std::vector<AuditOutbox*> outboxes_ ABSL_GUARDED_BY(mu_);
  bool outbox_rows_ ABSL_GUARDED_BY(mu_) = false;    // rows committed since the last move
  uint64_t move_requests_ ABSL_GUARDED_BY(mu_) = 0;  // Flush's tickets
  uint64_t moves_done_ ABSL_GUARDED_BY(mu_) = 0;     // the last ticket a committed move answered
  // SQLite: events moved by NORMAL commits since the trail's last sync point (0: all durable),
  // when that sync point was, and Detach's requests for one.
  static constexpr size_t kSyncBacklog = 20000;
  size_t unsynced_events_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time last_sync_ ABSL_GUARDED_BY(mu_) = absl::Now();  // at open: the checkpoint
  uint64_t sync_requests_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t syncs_done_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread writer_;
};

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_AUDIT_AUDIT_LOG_H_
