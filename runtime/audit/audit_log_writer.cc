// The audit log's writer thread (AuditLog, audit_log.h): when to write (the queue, the outbox
// moves at most every kMoveInterval, the sync points), the retries with back-off while the trail
// fails, the last attempt at shutdown, and the write of one group with its moves in one
// transaction of the trail, on SQLite or PostgreSQL.
#include <algorithm>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "runtime/audit/audit_log.h"
#include "runtime/audit/audit_rows.h"
#include "runtime/audit/outbox_packing.h"
#include "runtime/logging/log.h"
#include "runtime/status/status_macros.h"

namespace dorset::runtime {
namespace {

using audit_rows::kAppendQueue;

// Outbox rows are moved into the trail at most this often unless a reader waits (Flush).
constexpr absl::Duration kMoveInterval = absl::Milliseconds(20);
constexpr absl::Duration kFirstRetry = absl::Milliseconds(50);
constexpr absl::Duration kMaxRetry = absl::Seconds(1);
// While the trail fails, the error is logged on the first failure and then at most this often.
constexpr absl::Duration kFailureLogInterval = absl::Seconds(30);

}  // namespace

void AuditLog::WriterLoop() {
  absl::Duration backoff = kFirstRetry;
  absl::Time last_failure_log = absl::InfinitePast();
  absl::Time last_move = absl::InfinitePast();
  while (true) {
    std::vector<Pending> batch;
    std::vector<AuditOutbox*> sources;  // outboxes this write moves rows from
    uint64_t ticket = 0;
    uint64_t sync_ticket = 0;
    bool sync = false;        // this write is a sync point (SQLite)
    bool sync_point = false;  // ... because unsynced moves want one (it must write something)
    bool stopping = false;
    {
      absl::MutexLock lock(&mu_);
      auto work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        if (writing_) return false;  // a completing thread is writing a group
        if (stopping_ || MoveWanted()) return true;
        if (sync_requests_ != syncs_done_ && unsynced_events_ > 0) return true;  // Detach
        // Events a completing thread will write when its batch closes are left to it, unless
        // the queue is full (that thread may be waiting for room).
        return !queue_.empty() && (deferring_ == 0 || queue_.size() >= kMaxQueued);
      };
      if (unsynced_events_ == 0) {
        mu_.Await(absl::Condition(&work));
      } else if (!mu_.AwaitWithDeadline(absl::Condition(&work), last_sync_ + sync_interval_)) {
        // The sync point is due: wait for the turn (a completing thread may be writing).
        auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !writing_; };
        mu_.Await(absl::Condition(&idle));
      }
      sync_ticket = sync_requests_;
      const bool sync_due = SyncWanted(absl::Now());
      // Outbox rows nobody waits for (their calls were answered at their commit) are moved at
      // most every kMoveInterval, so that many groups share one commit of the trail.
      const absl::Duration early = last_move + kMoveInterval - absl::Now();
      if (!stopping_ && !sync_due && queue_.empty() && move_requests_ == moves_done_ &&
          early > absl::ZeroDuration()) {
        auto sooner = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return stopping_ || move_requests_ != moves_done_ || (!queue_.empty() && deferring_ == 0);
        };
        mu_.AwaitWithTimeout(absl::Condition(&sooner), early);
        if (writing_) continue;  // a completing thread took the turn meanwhile
      }
      // A sync point is wanted now (its time, a backlog, Detach, shutdown) or was asked for.
      sync_point = SyncWanted(absl::Now());
      sync = sync_point;
      if (queue_.empty() && !MoveWanted() && !sync) {
        if (stopping_) return;  // stopping, drained and synced
        continue;
      }
      batch = TakeBatch();
      if (MoveWanted() || sync) {
        sources = outboxes_;
        ticket = move_requests_;
        outbox_rows_ = false;
      }
      stopping = stopping_;
      // A call waits for the queued events: their commit must survive power loss.
      sync = sync || !batch.empty() || sync_each_ || db_ == nullptr;
    }
    Moved moved;
    const absl::Status status = WriteBatch(batch, sources, &moved, sync, sync_point);
    if (!sources.empty()) last_move = absl::Now();
    if (status.ok()) {
      Settle(batch, &moved, ticket, sync, sync_ticket);
      backoff = kFirstRetry;
      continue;
    }

    if (metrics_.failures != nullptr) {
      metrics_.failures->Increment();
      metrics_.writable->Set(0);
    }
    if (stopping) {
      // Shutting down and the last attempt failed: give up rather than hang the process.
      {
        absl::MutexLock lock(&mu_);
        while (!queue_.empty()) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
        failure_ = status;
        settled_ += batch.size();
        writing_ = false;
      }
      log::Error("audit trail not writable at shutdown; logging the unwritten events",
                 {{"events", static_cast<int64_t>(batch.size())},
                  {"error", std::string(status.message())}});
      for (Pending& p : batch) {
        Drop(p.event, status);
        if (p.durable) p.durable(status);
      }
      if (metrics_.queued != nullptr) metrics_.queued->Set(0);
      return;
    }
    const absl::Time now = absl::Now();
    if (now - last_failure_log >= kFailureLogInterval) {
      log::Error("audit write failed; calls are refused until it succeeds",
                 {{"error", std::string(status.message())},
                  {"retry_ms", absl::ToInt64Milliseconds(backoff)}});
      last_failure_log = now;
    }
    std::vector<Durable> expired;
    {
      absl::MutexLock lock(&mu_);
      failure_ = status;
      if (!sources.empty()) outbox_rows_ = true;  // moved at the next attempt
      PutBack(batch);                             // kept queued (in order) for the next attempt
      expired = TakeExpired(now);
    }
    for (Durable& d : expired) d(status);
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), backoff);
    }
    backoff = std::min(backoff * 2, kMaxRetry);
  }
}

absl::Status AuditLog::WriteBatch(const std::vector<Pending>& batch,
                                  const std::vector<AuditOutbox*>& sources, Moved* moved, bool sync,
                                  bool sync_point) {
  static_assert(std::tuple_size_v<decltype(inserts_)> == audit_rows::kInsertShapes);
  // The moved events first (in their order), then the batch's: a few multi-row INSERTs for all.
  outbox_packing::MovedEvents moved_events;
  std::vector<outbox_packing::EventView>& events = moved_events.events;
  const auto add_batch = [&]() {
    events.reserve(events.size() + batch.size());
    for (const Pending& p : batch) events.push_back(audit_rows::ViewOf(p.event));
  };
  const auto event_at = [&events](size_t i) -> const outbox_packing::EventView& {
    return events[i];
  };
  if (shared_ != nullptr) {
    return shared_->WriteQueued(kAppendQueue, [&](storage::Transaction& tx) -> absl::Status {
      // Every attached outbox is a table of this database (AttachOutbox): one statement moves
      // their rows into the trail, ahead of the batch's.
      if (!sources.empty()) {
        *moved = Moved();
        RETURN_IF_ERROR(MoveFromPostgres(tx, *moved));
      }
      events.clear();
      add_batch();
      return audit_rows::InsertEvents(events.size(), event_at, tx);
    });
  }
  bool reads_attached = false;
  for (AuditOutbox* source : sources) {
    AttachSqlite(*source);
    reads_attached = reads_attached || source->Attached();
  }
  if (sync != full_sync_now_) {
    // Outside a transaction; the connection is on the default VFS (OpenSqlite), which lets it
    // switch. A FULL commit fdatasyncs the WAL, and with it every NORMAL commit before it.
    RETURN_IF_ERROR(
        db_->Exec(sync ? "PRAGMA main.synchronous=FULL" : "PRAGMA main.synchronous=NORMAL"));
    full_sync_now_ = sync;
  }
  // With a store attached to read its outbox from, BEGIN IMMEDIATE would take the store's write
  // lock as well (and stall its group committer): deferred, the first write locks audit.db only,
  // which no other connection writes (reader_ is query-only), so it cannot meet a busy lock.
  ASSIGN_OR_RETURN(sqlite::Transaction tx, reads_attached ? sqlite::Transaction::BeginDeferred(*db_)
                                                          : sqlite::Transaction::Begin(*db_));
  for (AuditOutbox* source : sources) {
    RETURN_IF_ERROR(MoveFromSqlite(*source, moved_events, *moved));
  }
  if (sync_point && batch.empty() && moved != nullptr && moved->marks.empty()) {
    // A sync point with nothing new: the marks are saved again (unchanged), so the commit
    // writes a frame and syncs the WAL, and with it the moves committed NORMAL before.
    for (AuditOutbox* source : sources) RETURN_IF_ERROR(SaveMark(*source, source->moved_.load()));
  }
  // Prepared once per shape and kept (the one writing is their only user): parsing an INSERT
  // again for every group cost as much as a few of its rows.
  add_batch();
  RETURN_IF_ERROR(audit_rows::InsertEvents(
      events.size(), event_at, [this](size_t shape) -> absl::StatusOr<sqlite::Statement*> {
        if (inserts_[shape] == nullptr) {
          ASSIGN_OR_RETURN(sqlite::Statement prepared,
                           db_->Prepare(audit_rows::TrailInsert().Sql(shape)));
          inserts_[shape] = std::make_unique<sqlite::Statement>(std::move(prepared));
        }
        return inserts_[shape].get();
      }));
  return tx.Commit();
}

}  // namespace dorset::runtime
