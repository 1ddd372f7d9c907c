// The audit outbox of a service's store (issue 16): one sync per group-committed write. A group
// committer (runtime/storage/group_commit.h) writes the audit event of each call it applies INTO
// the group's own transaction, as a row of the store's `audit_outbox` table, so the event is
// durable and atomic with the change it records; the call is then acknowledged after that one
// commit, without a second commit of the trail. The AuditLog's writer moves outbox rows into the
// trail off the acknowledgement path, in order, and at start-up moves whatever a kill -9 left
// (audit_log.h). ListAuditEvents drains the outbox first (AuditLog::Flush), so a reader still sees
// every acknowledged write.
//
// The table is defined once, per engine, in runtime/audit/schema/<engine>/audit_outbox.sql, and
// each store that has an outbox includes that file as a step of its own migrations (a
// "-- dorset:include" line, cmake/DorsetMigrations.cmake); the same columns as audit_event, plus
// `id` in commit order. Moving rows:
// - SQLite: a group writes ONE row holding its events packed (outbox_packing.h, session 25: a row
//   per event cost ~9k instructions a write); rows an older version wrote, one event each in the
//   columns, are still read, both forms in id order (audit_outbox_packed.sql). The trail is
//   another file (audit.db), so the move is two commits. audit.db records the
//   highest outbox id moved (audit_outbox_drained) in the transaction that inserts the events; the
//   next group's transaction deletes the rows up to the mark as of the trail's last sync point
//   (session 15: moves are committed synchronous=NORMAL, with a FULL commit at least every
//   second, so the trail adds no fsync per move; a power loss that takes the unsynced moves takes
//   their marks with them, and their rows, still in the outbox, are moved again). A kill between
//   the two leaves rows that the mark skips: each event reaches the trail exactly once. Ids are
//   AUTOINCREMENT (never reused) and given out under SQLite's single writer, so every row below a
//   visible id is visible.
// - PostgreSQL: the trail is a table of the same database, so a group's events go straight into
//   audit_event in the group's own transaction (Append, session 24), under the trail's append
//   queue taken as the transaction's last lock: sequences in commit order, each event once with
//   its group, nothing to move. The outbox table stays for the rows an earlier version left
//   (a rolling upgrade, a kill -9 before their move): one transaction deletes them (DELETE ...
//   RETURNING) and appends them to audit_event under the same queue, exactly once, whichever
//   replica moves them.
//
// Per call: the handler gives its job UnaryHandle::Outboxed(); the group function collects the
// events of its jobs (Collect) and writes them (Append) in its transaction; after the commit the
// committer's Committed hook calls OutboxedAudit::Committed(), and UnaryCall::Complete with the
// same status answers at once. A call whose group rolled back (or whose final status differs from
// the one written) never had its mark set, so it records its event through AuditLog::Record as
// before: no call is acknowledged without its durable audit record either way.
#ifndef DORSET_RUNTIME_AUDIT_AUDIT_OUTBOX_H_
#define DORSET_RUNTIME_AUDIT_AUDIT_OUTBOX_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "dorset/common/v1/audit.pb.h"
#include "google/protobuf/message.h"
#include "runtime/sqlite/database.h"
#include "runtime/storage/database.h"

namespace dorset::runtime {

class AuditLog;

// One call's audit event as its outbox row, without a protobuf message (issue 16: building an
// AuditEvent on the group writer, its strings copied, was ~6k instructions a posting). The views
// are of strings that outlive the group's transaction: the call's own (UnaryCall) and static
// names; the resource is made for the row (short names need no allocation). The one form a group
// collects (finance's postings, engagement's responses).
struct OutboxRow {
  int64_t time_us = 0;
  std::string_view principal;
  std::string_view method;
  std::string resource;
  std::string_view action;
  std::string_view request_id;
  std::string_view outcome;
};

// One call's audit event on its way into a group's transaction (UnaryHandle::Outboxed makes it;
// empty when the call records no event here: then Collect adds nothing).
struct OutboxedAudit {
  // The event the call records when completed with `status`, as an outbox row (`row` filled,
  // true), or false when it records none (`reply`: as it will be sent, when the reply names a
  // created resource; null: the call's own).
  std::function<bool(const absl::Status& status, const google::protobuf::Message* reply,
                     OutboxRow& row)>
      row_for;
  // The event for that status is committed: the call answers at once when it ends with it.
  std::function<void(absl::StatusCode code)> mark_committed;
  // Set by Collect in the current attempt of the group's transaction (a retry collects again).
  std::optional<absl::StatusCode> written;

  // Adds the call's event for `status` to `rows` and remembers the status as written.
  void Collect(const absl::Status& status, const google::protobuf::Message* reply,
               std::vector<OutboxRow>& rows);
  // After the transaction holding the collected event committed (never before). True when the
  // call had an event in it.
  bool Committed() {
    if (!written.has_value() || !mark_committed) return false;
    mark_committed(*written);
    return true;
  }
};

// A store's outbox, attached to the process's AuditLog (AuditLog::AttachOutbox). Destroy it after
// the store's group committers (their last groups write to it) and before the store.
class AuditOutbox {
 public:
  ~AuditOutbox();  // moves what it holds into the trail (bounded while the trail fails), detaches

  // In a group's transaction: writes the collected `rows`. SQLite: into the outbox as ONE row
  // (their events packed, in order), and deletes the rows already moved to the trail.
  // PostgreSQL: straight into the trail (bound without copies), under the trail's append queue
  // (a transaction lock held until the commit), so call it LAST, after every other statement
  // that takes a lock (the data-version bump, upserts): a holder of the queue then waits for
  // nothing but its commit, and no two writers can deadlock.
  // Touches only the database, so a retried transaction may call it again.
  absl::Status Append(storage::Transaction& tx, std::span<const OutboxRow> rows);

  // A group committer's hook after a group's commit (GroupCommitter's `committed`): marks each
  // job's call (its `audit`, an OutboxedAudit) and wakes the trail's writer to move the rows
  // (SQLite; on PostgreSQL they are in the trail already: counted only).
  template <typename Job>
  void GroupCommitted(std::span<Job> jobs) {
    size_t events = 0;
    for (Job& job : jobs) events += job.audit.Committed() ? 1 : 0;
    if (events > 0) NoteRows(events);
  }

  storage::Database& store() { return store_; }
  bool Attached() const { return !attached_.empty(); }  // for the trail's writer only
  const std::string& name() const { return name_; }

 private:
  friend class AuditLog;
  void NoteRows(size_t events);
  AuditOutbox(AuditLog& log, storage::Database& store, std::string name, int64_t moved)
      : log_(log), store_(store), name_(std::move(name)), moved_(moved), durable_(moved) {}

  AuditLog& log_;
  storage::Database& store_;
  const std::string name_;  // the source's key in audit.db's audit_outbox_drained (SQLite)
  // SQLite: the highest id moved to the trail (set by the audit writer after its commit), the
  // highest the trail holds durably (at its last sync point: the group transactions delete up
  // to it, never past it, so a move a power loss takes from the trail is made again), and the
  // highest the group transactions have deleted up to (tentatively: a rolled-back delete only
  // leaves rows the mark skips).
  std::atomic<int64_t> moved_;
  std::atomic<int64_t> durable_;
  std::atomic<int64_t> deleted_{0};
  // SQLite: the store attached to the trail's connection under this schema name (empty: not
  // attached, the rows are read through the store's own pool), and the move's read there. Used
  // by the one writing the trail only (AuditLog::AttachSqlite, MoveFromSqlite).
  std::string attached_;
  bool attach_failed_ = false;
  std::unique_ptr<sqlite::Statement> read_;  // (mark, limit) -> the rows past the mark, in order
};

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_AUDIT_AUDIT_OUTBOX_H_
