#include "runtime/audit/audit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string_view>
#include <tuple>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"
#include "runtime/api/page_token.h"
#include "runtime/audit/audit_rows.h"
#include "runtime/base/completion_batch.h"
#include "runtime/logging/log.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/database_url.h"
#include "runtime/storage/keyset_page.h"
#include "runtime/storage/open.h"

namespace dorset::runtime {
namespace {

using audit_rows::BindEvent;
using audit_rows::EventFromRow;

constexpr size_t kMaxBatch = 1000;

constexpr sqlite::Migration kMigrations[] = {
    {1, R"sql(
      CREATE TABLE audit_event(
        sequence   INTEGER PRIMARY KEY AUTOINCREMENT,
        time_us    INTEGER NOT NULL,
        principal  TEXT NOT NULL,
        method     TEXT NOT NULL,
        resource   TEXT NOT NULL,
        action     TEXT NOT NULL,
        request_id TEXT NOT NULL,
        outcome    TEXT NOT NULL);
      CREATE INDEX audit_event_principal ON audit_event(principal, sequence);
      CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
      CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    )sql"},
    // Per store with an audit outbox (audit_outbox.h): the highest outbox id moved into this
    // trail, written in the same transaction as the events, so a row is moved exactly once.
    {2, R"sql(
      CREATE TABLE audit_outbox_drained(
        source  TEXT PRIMARY KEY,
        last_id INTEGER NOT NULL);
    )sql"},
};

// The same table on PostgreSQL, shared by every replica of the service (in the service's own
// database, with its own steps table so the service's numbering is untouched). The sequence is
// an identity column; appends are queued (kAppendQueue) so it is given out in commit order.
constexpr storage::Migration kPostgresMigrations[] = {
    {1, "audit_event", R"sql(
      CREATE TABLE audit_event(
        sequence   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        time_us    BIGINT NOT NULL,
        principal  TEXT NOT NULL,
        method     TEXT NOT NULL,
        resource   TEXT NOT NULL,
        action     TEXT NOT NULL,
        request_id TEXT NOT NULL,
        outcome    TEXT NOT NULL);
      CREATE INDEX audit_event_principal ON audit_event(principal, sequence);
      CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the audit trail is append-only'; END $$;
      CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event
        FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
      CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
        FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();
    )sql"},
};
constexpr char kAuditMigrationsTable[] = "audit_schema_migrations";
// The queue every replica's appends wait in (Database::WriteQueued), so that identity values
// are handed out in commit order: a transaction takes its numbers only after the one before it
// committed. Without it two replicas' groups could commit out of order and a reader paging by
// sequence could pass a number whose event becomes visible only later.
constexpr int64_t kAppendQueue = 0x6175646974747261;  // "audittra"
// The audit's own connection on PostgreSQL (the writer; ListAuditEvents, rare, shares it): with
// the service's pool of 8 and the registry's LISTEN, 10 per process (docs/storage.md, "Pool
// policy"; deploy_manifests checks max_connections against it).
constexpr int kPostgresConnections = 1;

constexpr char kSelect[] =
    "SELECT sequence, time_us, principal, method, resource, action, request_id, outcome FROM "
    "audit_event WHERE sequence > ? AND (? = '' OR principal = ?) ORDER BY sequence LIMIT ?";

// DORSET_AUDIT_DEFER=on: completing threads write their batches' events themselves. Off by
// default: measured on a quiet machine (bench/README.md, "Acknowledged writes on a quiet
// machine"), engagement's responses went from 0.22x to 0.10x echo with it on, at twice the CPU
// per call, so the writer thread writes every event unless asked otherwise.
bool DeferToCompletionBatches() {
  const char* value = std::getenv("DORSET_AUDIT_DEFER");
  return value != nullptr && std::string_view(value) == "on";
}

// Outbox rows are moved into the trail at most this often unless a reader waits (Flush).
constexpr absl::Duration kMoveInterval = absl::Milliseconds(20);
// SQLite (session 15): moves are committed with synchronous=NORMAL, and at least this often one
// write of the trail is a sync point (synchronous=FULL), after which the stores may delete the
// moved rows. A power loss can take only the moves since the last sync point, and their rows are
// still in the outboxes, so they are moved again (docs/security.md, "The trail's own sync").
constexpr absl::Duration kSyncInterval = absl::Seconds(1);

// DORSET_AUDIT_TRAIL_SYNC: `each` commits every write of the trail with synchronous=FULL (as
// before session 15, for A/B measurements and a way back); a duration ("250ms", "1h") sets how
// long moves may stay unsynced; unset or unparsable: kSyncInterval.
struct TrailSync {
  bool each = false;
  absl::Duration interval = kSyncInterval;
};
TrailSync TrailSyncSetting() {
  TrailSync sync;
  const char* value = std::getenv("DORSET_AUDIT_TRAIL_SYNC");
  if (value == nullptr) return sync;
  if (std::string_view(value) == "each") {
    sync.each = true;
  } else if (absl::Duration d; absl::ParseDuration(value, &d) && d >= absl::ZeroDuration()) {
    sync.interval = d;
  }
  return sync;
}
constexpr absl::Duration kFirstRetry = absl::Milliseconds(50);
constexpr absl::Duration kMaxRetry = absl::Seconds(1);
// While the trail fails, the error is logged on the first failure and then at most this often.
constexpr absl::Duration kFailureLogInterval = absl::Seconds(30);

// fdatasync of a file as it is (absent: nothing to sync).
absl::Status SyncFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return errno == ENOENT
               ? absl::OkStatus()
               : absl::UnavailableError(absl::StrCat(path, " cannot be opened to sync"));
  }
  const int rc = ::fdatasync(fd);
  ::close(fd);
  return rc == 0 ? absl::OkStatus()
                 : absl::UnavailableError(absl::StrCat(path, " cannot be synced"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& data_dir,
                                                         prometheus::Registry* metrics) {
  ASSIGN_OR_RETURN(PageTokenCodec page_tokens, PageTokenCodec::ForDataDir(data_dir));
  return OpenSqlite(data_dir, std::move(page_tokens), metrics);
}

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::OpenSqlite(const std::string& data_dir,
                                                               PageTokenCodec page_tokens,
                                                               prometheus::Registry* metrics) {
  const std::string path = (std::filesystem::path(data_dir) / "audit.db").string();
  // The writer's connection is opened synchronous=NORMAL (so through the default VFS: the WAL
  // batch VFS serves FULL connections only and refuses the switch, wal_batch_vfs.h) and set to
  // FULL for every write a call waits for: a call is acknowledged only after its event is
  // committed, so that commit must survive power loss too (one fsync per group). Writes that
  // only move outbox rows stay NORMAL between sync points (WriteBatch).
  ASSIGN_OR_RETURN(auto db, sqlite::Database::Open(path, {.full_sync = false}));
  RETURN_IF_ERROR(db->Migrate(kMigrations));
  // What an earlier run left in the WAL may never have been synced (moves before a kill -9): a
  // checkpoint syncs the WAL, copies it into audit.db and syncs that, so the marks read when the
  // outboxes attach, and the rows deleted up to them, are durable.
  // A checkpoint writes audit.db: on a full disk the files are synced as they are instead
  // (no space needed), so the service still starts and reports the trail unwritable later.
  if (absl::Status checkpointed = db->Exec("PRAGMA wal_checkpoint(TRUNCATE)"); !checkpointed.ok()) {
    log::Warn("audit trail not checkpointed at open; syncing its files as they are",
              {{"error", std::string(checkpointed.message())}});
    RETURN_IF_ERROR(SyncFile(path + "-wal"));
    RETURN_IF_ERROR(SyncFile(path));
  }
  ASSIGN_OR_RETURN(auto reader, sqlite::Database::Open(path));
  return Create(std::move(db), std::move(reader), nullptr, std::move(page_tokens), metrics);
}

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(const ServerConfig& config,
                                                         prometheus::Registry* metrics) {
  ASSIGN_OR_RETURN(storage::DatabaseUrl url,
                   storage::ParseDatabaseUrl(config.database, config.data_dir, config.service));
  ASSIGN_OR_RETURN(PageTokenCodec page_tokens,
                   PageTokenCodec::Load(config.page_token_key_file, config.data_dir));
  if (url.kind != storage::DatabaseUrl::Kind::kPostgres) {
    return OpenSqlite(config.data_dir, std::move(page_tokens), metrics);
  }
  storage::OpenSettings settings;
  settings.postgres_connections = kPostgresConnections;
  if (!config.database_password_file.empty()) {
    ASSIGN_OR_RETURN(settings.password, storage::ReadPasswordFile(config.database_password_file));
  }
  storage::DatabaseOptions options;
  options.migrations = kPostgresMigrations;
  options.migrations_table = kAuditMigrationsTable;
  ASSIGN_OR_RETURN(std::unique_ptr<storage::Database> shared,
                   storage::OpenDatabase(url, settings, nullptr, options));
  return Create(nullptr, nullptr, std::move(shared), std::move(page_tokens), metrics);
}

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Create(
    std::unique_ptr<sqlite::Database> db, std::unique_ptr<sqlite::Database> reader,
    std::unique_ptr<storage::Database> shared, PageTokenCodec page_tokens,
    prometheus::Registry* metrics) {
  Metrics m;
  if (metrics != nullptr) {
    m.written = &prometheus::BuildCounter()
                     .Name("dorset_audit_events_written_total")
                     .Help("Audit events committed to the audit trail")
                     .Register(*metrics)
                     .Add({});
    m.failures = &prometheus::BuildCounter()
                      .Name("dorset_audit_write_failures_total")
                      .Help("Attempts to commit a group of audit events that failed")
                      .Register(*metrics)
                      .Add({});
    m.dropped = &prometheus::BuildCounter()
                     .Name("dorset_audit_events_dropped_total")
                     .Help(
                         "Audit events given up (written to the log instead) because the audit "
                         "trail could not be written")
                     .Register(*metrics)
                     .Add({});
    m.queued = &prometheus::BuildGauge()
                    .Name("dorset_audit_queued_events")
                    .Help("Audit events waiting to be committed")
                    .Register(*metrics)
                    .Add({});
    m.writable = &prometheus::BuildGauge()
                      .Name("dorset_audit_writable")
                      .Help("1 while the last write to the audit trail succeeded, 0 while it fails")
                      .Register(*metrics)
                      .Add({});
    m.writable->Set(1);
  }
  return std::unique_ptr<AuditLog>(
      new AuditLog(std::move(db), std::move(reader), std::move(shared), std::move(page_tokens), m));
}

AuditLog::AuditLog(std::unique_ptr<sqlite::Database> db, std::unique_ptr<sqlite::Database> reader,
                   std::unique_ptr<storage::Database> shared, PageTokenCodec page_tokens,
                   Metrics metrics)
    : db_(std::move(db)),
      reader_(std::move(reader)),
      shared_(std::move(shared)),
      page_tokens_(std::move(page_tokens)),
      metrics_(metrics),
      defer_(DeferToCompletionBatches()),
      sync_each_(TrailSyncSetting().each),
      sync_interval_(TrailSyncSetting().interval) {
  writer_ = std::thread([this] { WriterLoop(); });
}

AuditLog::~AuditLog() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  writer_.join();
}

void AuditLog::Record(common::v1::AuditEvent event, Durable durable) {
  const absl::Time now = absl::Now();
  const int64_t now_us = absl::ToUnixMicros(now);
  event.mutable_time()->set_seconds(now_us / 1000000);
  event.mutable_time()->set_nanos(static_cast<int32_t>(now_us % 1000000) * 1000);
  absl::Status refused;
  {
    absl::MutexLock lock(&mu_);
    // A full queue while the trail works means the writer is behind: wait for it (briefly).
    // While the trail fails nobody waits: the event is refused and its call told so.
    auto has_room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return queue_.size() < kMaxQueued || stopping_ || !failure_.ok();
    };
    // A callback run by the writer may end a call whose interceptor records: never wait there.
    if (std::this_thread::get_id() != writer_.get_id()) mu_.Await(absl::Condition(&has_room));
    ++recorded_;
    if (queue_.size() < kMaxQueued) {
      // While the trail is known to fail, answer the call at the next failed attempt.
      const absl::Time deadline = failure_.ok() ? now + kAckBudget : now;
      queue_.push_back(Pending{std::move(event), std::move(durable), deadline});
      if (metrics_.queued != nullptr) metrics_.queued->Increment();
      // On a thread completing a batch of calls (a group committer finishing a group), this
      // thread writes the queued events itself when its batch closes, in one transaction with
      // the rest of the group's: the writer thread is not woken for them.
      if (defer_ && failure_.ok()) {
        if (CompletionBatch* batch = CompletionBatch::Current();
            batch != nullptr && batch->Defer(this, [this] { WriteDeferred(); })) {
          ++deferring_;
        }
      }
      return;
    }
    ++settled_;
    refused = failure_.ok() ? absl::UnavailableError("the audit queue is full") : failure_;
  }
  Drop(event, refused);
  if (durable) durable(refused);
}

// Not for a thread inside a CompletionBatch that recorded events: those are written only when
// its batch closes (ListAuditEvents, the one caller, runs on a gRPC thread).
bool AuditLog::Flush() {
  absl::MutexLock lock(&mu_);
  const uint64_t target = recorded_;
  // Outbox rows committed before this call are moved by a write that starts after it.
  const uint64_t ticket = outboxes_.empty() ? moves_done_ : ++move_requests_;
  auto caught_up = [this, target, ticket]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return settled_ >= target && moves_done_ >= ticket;
  };
  // Wait in slices: a trail that starts failing mid-wait bounds the wait to kAckBudget.
  while (!caught_up()) {
    if (!failure_.ok()) return mu_.AwaitWithTimeout(absl::Condition(&caught_up), kAckBudget);
    mu_.AwaitWithTimeout(absl::Condition(&caught_up), absl::Milliseconds(100));
  }
  return true;
}

absl::Status AuditLog::Health() {
  absl::MutexLock lock(&mu_);
  return failure_;
}

void AuditLog::SetSyncHookForTesting(std::function<void()> hook) {
  absl::MutexLock lock(&mu_);
  sync_hook_ = std::move(hook);
}

void AuditLog::Drop(const common::v1::AuditEvent& event, const absl::Status& why) {
  // The last resort: the event goes to the service log, which is collected off the machine.
  log::Error("audit event not written to the audit trail",
             {{"principal", event.principal()},
              {"method", event.method()},
              {"resource", event.resource()},
              {"action", event.action()},
              {"request_id", event.request_id()},
              {"outcome", event.outcome()},
              {"time_us", event.time().seconds() * 1000000 + event.time().nanos() / 1000},
              {"error", std::string(why.message())}});
  if (metrics_.dropped != nullptr) metrics_.dropped->Increment();
}

std::vector<AuditLog::Durable> AuditLog::TakeExpired(absl::Time now) {
  std::vector<Durable> expired;
  for (Pending& p : queue_) {
    if (p.durable && p.deadline <= now) expired.push_back(std::exchange(p.durable, nullptr));
  }
  return expired;
}

std::vector<AuditLog::Pending> AuditLog::TakeBatch() {
  std::vector<Pending> batch;
  batch.reserve(std::min(queue_.size(), kMaxBatch));
  while (!queue_.empty() && batch.size() < kMaxBatch) {
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  writing_ = true;
  return batch;
}

void AuditLog::PutBack(std::vector<Pending>& batch) {
  // At the front, in order: the next attempt writes them first, so sequence order stays the
  // order in which the events were recorded.
  for (auto it = batch.rbegin(); it != batch.rend(); ++it) queue_.push_front(std::move(*it));
  batch.clear();
  writing_ = false;
}

void AuditLog::Settle(std::vector<Pending>& batch, const Moved* moved, uint64_t ticket, bool synced,
                      uint64_t sync_ticket) {
  if (moved != nullptr) {
    // Committed: the next moves start after these rows (SQLite).
    for (const auto& [source, mark] : moved->marks) source->moved_.store(mark);
  }
  if (synced && db_ != nullptr) {
    std::function<void()> hook;
    {
      absl::MutexLock lock(&mu_);
      hook = sync_hook_;
    }
    if (hook) hook();  // still the one writing: nothing has been written after the sync
  }
  std::vector<Durable> done;
  done.reserve(batch.size());
  for (Pending& p : batch) {
    if (p.durable) done.push_back(std::move(p.durable));
  }
  const size_t n = batch.size();
  batch.clear();
  bool recovered = false;
  {
    absl::MutexLock lock(&mu_);
    settled_ += n;
    moves_done_ = std::max(moves_done_, ticket);
    if (moved != nullptr && moved->more) outbox_rows_ = true;
    if (db_ != nullptr) {
      if (synced) {
        // A sync point: everything the trail holds is durable (an fdatasync of the WAL covers
        // every frame before it), so every store may delete up to its trail mark. Under mu_ and
        // before writing_ is cleared: Detach waits for both before it forgets an outbox.
        for (AuditOutbox* outbox : outboxes_) outbox->durable_.store(outbox->moved_.load());
        unsynced_events_ = 0;
        last_sync_ = absl::Now();
        syncs_done_ = std::max(syncs_done_, sync_ticket);
      } else if (moved != nullptr) {
        unsynced_events_ += moved->events;
      }
    }
    recovered = !failure_.ok();
    failure_ = absl::OkStatus();
    writing_ = false;  // the next group may start while these replies are released
  }
  if (recovered) log::Info("audit trail writable again", {});
  if (metrics_.written != nullptr) {
    metrics_.written->Increment(static_cast<double>(n + (moved != nullptr ? moved->events : 0)));
    metrics_.queued->Decrement(static_cast<double>(n));
    metrics_.writable->Set(1);
  }
  for (Durable& d : done) d(absl::OkStatus());
}

void AuditLog::WriteDeferred() {
  std::vector<Pending> batch;
  {
    absl::MutexLock lock(&mu_);
    --deferring_;
    // Busy (another group is being written: the writer thread takes these next) or failing
    // (the writer thread retries with its back-off and answers deadlines): leave them queued.
    if (writing_ || !failure_.ok() || queue_.empty()) return;
    batch = TakeBatch();
  }
  const absl::Status status = WriteBatch(batch);
  if (status.ok()) {
    Settle(batch);
    return;
  }
  if (metrics_.failures != nullptr) {
    metrics_.failures->Increment();
    metrics_.writable->Set(0);
  }
  absl::MutexLock lock(&mu_);
  failure_ = status;
  PutBack(batch);  // wakes the writer thread, which retries and answers the deadlines
}

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
  // The moved rows first (in their order), then the batch's: a few multi-row INSERTs for all.
  std::vector<common::v1::AuditEvent> from_outboxes;
  const auto event_at = [&](size_t i) -> const common::v1::AuditEvent& {
    return i < from_outboxes.size() ? from_outboxes[i] : batch[i - from_outboxes.size()].event;
  };
  if (shared_ != nullptr) {
    return shared_->WriteQueued(kAppendQueue, [&](storage::Transaction& tx) -> absl::Status {
      from_outboxes.clear();
      // Every attached outbox is a table of this database (AttachOutbox): one move takes them.
      if (!sources.empty()) {
        *moved = Moved();
        RETURN_IF_ERROR(MoveFromPostgres(tx, from_outboxes, *moved));
      }
      return audit_rows::InsertEvents(audit_rows::Table::kTrail,
                                      from_outboxes.size() + batch.size(), event_at, tx);
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
    RETURN_IF_ERROR(MoveFromSqlite(*source, from_outboxes, *moved));
  }
  if (sync_point && batch.empty() && moved != nullptr && moved->marks.empty()) {
    // A sync point with nothing new: the marks are saved again (unchanged), so the commit
    // writes a frame and syncs the WAL, and with it the moves committed NORMAL before.
    for (AuditOutbox* source : sources) RETURN_IF_ERROR(SaveMark(*source, source->moved_.load()));
  }
  // Prepared once per shape and kept (the one writing is their only user): parsing an INSERT
  // again for every group cost as much as a few of its rows.
  RETURN_IF_ERROR(audit_rows::InsertEvents(
      audit_rows::Table::kTrail, from_outboxes.size() + batch.size(), event_at,
      [this](size_t shape) -> absl::StatusOr<sqlite::Statement*> {
        if (inserts_[shape] == nullptr) {
          ASSIGN_OR_RETURN(
              sqlite::Statement prepared,
              db_->Prepare(audit_rows::InsertOf(audit_rows::Table::kTrail).Sql(shape)));
          inserts_[shape] = std::make_unique<sqlite::Statement>(std::move(prepared));
        }
        return inserts_[shape].get();
      }));
  return tx.Commit();
}

absl::StatusOr<common::v1::ListAuditEventsResponse> AuditLog::List(
    const common::v1::ListAuditEventsRequest& request) {
  if (request.after_sequence() < 0) {
    return InvalidArgument("after_sequence", "must not be negative");
  }
  // The filters are the token's fingerprint: a token replayed with another principal or start
  // is INVALID_ARGUMENT naming page_token. The key is the last sequence returned.
  ASSIGN_OR_RETURN(
      storage::KeysetPage page,
      storage::KeysetPage::Start(
          page_tokens_,
          absl::StrCat("ListAuditEvents\n", request.principal(), "\n", request.after_sequence()),
          request.page_size(), request.page_token(), {.default_size = 100, .max_size = 1000}));
  int64_t after = request.after_sequence();
  if (!page.first() && !absl::SimpleAtoi(page.after(), &after)) {
    return InvalidArgument("page_token", "does not hold a sequence");
  }
  common::v1::ListAuditEventsResponse response;
  auto collect = [&](auto& select) -> absl::Status {
    select.Bind(1, after)
        .Bind(2, request.principal())
        .Bind(3, request.principal())
        .Bind(4, page.fetch_limit());
    return page.Collect(
        select, [](const auto& row) { return EventFromRow(row); },
        [](const auto& row) { return absl::StrCat(row.Int(0)); }, *response.mutable_events(),
        response.mutable_next_page_token());
  };
  if (shared_ != nullptr) {
    RETURN_IF_ERROR(shared_->Read([&](storage::Transaction& tx) -> absl::Status {
      response.clear_events();
      response.clear_next_page_token();
      ASSIGN_OR_RETURN(storage::Statement select, tx.Prepare(kSelect));
      return collect(select);
    }));
  } else {
    absl::MutexLock lock(&reader_mu_);
    ASSIGN_OR_RETURN(sqlite::Statement select, reader_->Prepare(kSelect));
    RETURN_IF_ERROR(collect(select));
  }
  // The deprecated field keeps its old meaning for callers that still read it: the last
  // sequence of a full page, 0 when the trail holds nothing after this page.
  if (!response.next_page_token().empty()) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    response.set_next_after_sequence(response.events(response.events_size() - 1).sequence());
#pragma GCC diagnostic pop
  }
  return response;
}

}  // namespace dorset::runtime
