#include "runtime/audit/audit_outbox.h"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "prometheus/counter.h"
#include "runtime/audit/audit_log.h"
#include "runtime/audit/audit_rows.h"
#include "runtime/audit/outbox_packing.h"
#include "runtime/logging/log.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/transact.h"

namespace dorset::runtime {
namespace {

using outbox_packing::EventView;
using outbox_packing::MovedEvents;

// Events moved by one write of the trail at most (and rows read: each holds one at least); a
// longer outbox takes several writes. The write's last row is moved whole.
constexpr int64_t kMaxMove = 1000;

// SQLite: a group's events, packed (outbox_packing.h), as one row; the columns of an event are
// then the first event's time and empty texts (audit_outbox_packed.sql).
constexpr char kInsertPacked[] =
    "INSERT INTO audit_outbox(time_us, principal, method, resource, action, request_id, outcome, "
    "events, event_count) VALUES (?, '', '', '', '', '', '', ?, ?)";
// SQLite: the rows past the trail's mark, of both forms, in id order (the move's columns), from
// the outbox of the store attached as `schema` (empty: the store's own connection).
std::string RowsPast(const std::string& schema) {
  return absl::StrCat(
      "SELECT id, events, time_us, principal, method, resource, action, request_id, outcome FROM ",
      schema, schema.empty() ? "" : ".", "audit_outbox WHERE id > ? ORDER BY id LIMIT ?");
}
// A store's outbox has the packed form's columns (its migrations): a group never fails on them.
constexpr char kProbeSqlite[] = "SELECT id, events, event_count FROM audit_outbox LIMIT 1";
constexpr char kProbePostgres[] = "SELECT id FROM audit_outbox LIMIT 1";
// SQLite: rows the trail already holds, deleted by the next group's transaction.
constexpr char kDeleteMoved[] = "DELETE FROM audit_outbox WHERE id <= ?";
// SQLite (audit.db): the mark, saved in the transaction that appends the rows below it.
constexpr char kSaveMark[] =
    "INSERT INTO audit_outbox_drained(source, last_id) VALUES (?, ?) "
    "ON CONFLICT(source) DO UPDATE SET last_id = excluded.last_id";
constexpr char kReadMark[] = "SELECT last_id FROM audit_outbox_drained WHERE source = ?";
// SQLite: the highest id the store ever gave out (AUTOINCREMENT keeps it after deletes).
constexpr char kHighestId[] =
    "SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = 'audit_outbox'";
// PostgreSQL: the oldest rows, deleted and appended to the trail in outbox order by one statement
// of the trail's transaction, so a row is appended exactly once whichever replica moves it. The
// rows stay in the database (they were returned to the service and sent back as INSERTs until
// session 19). The ids are taken by the primary key's index (= ANY of an array): `id IN
// (SELECT ...)` was planned as a sequential scan of the whole outbox, dead rows of earlier moves
// included, for every move (1.4 ms a move at ~4k postings/s, bench/README.md session 19).
constexpr char kMoveOutbox[] =
    "WITH taken AS (DELETE FROM audit_outbox "
    "WHERE id = ANY (ARRAY(SELECT id FROM audit_outbox ORDER BY id LIMIT ?)) "
    "RETURNING id, time_us, principal, method, resource, action, request_id, outcome), "
    "appended AS (INSERT INTO audit_event(time_us, principal, method, resource, action, "
    "request_id, outcome) SELECT time_us, principal, method, resource, action, request_id, "
    "outcome FROM taken ORDER BY id RETURNING 1) "
    "SELECT count(*) FROM appended";

// PostgreSQL: the trail's append queue (audit_rows::kAppendQueue) taken inside a group's
// transaction, held until it commits or rolls back.
constexpr char kAppendLock[] = "SELECT pg_advisory_xact_lock(?)";

// Adds the events of the outbox row `row` holds (RowsPast's columns) to `moved`: a group's,
// packed, or the one event of a row an older version wrote, packed here as a group of one so
// that both are viewed alike.
template <typename Stmt>
absl::Status AddRow(const Stmt& row, MovedEvents& moved) {
  std::string& kept = moved.rows.emplace_back();
  if (!row.IsNull(1)) {
    kept = row.Blob(1);
  } else {
    const std::string texts[] = {row.Text(3), row.Text(4), row.Text(5),
                                 row.Text(6), row.Text(7), row.Text(8)};
    const EventView event{row.Int(2), texts[0], texts[1], texts[2], texts[3], texts[4], texts[5]};
    outbox_packing::Pack(std::span<const EventView>(&event, 1), kept);
  }
  return outbox_packing::Unpack(kept, moved.events);
}

// Reads the rows past `mark` (bound to `select`, RowsPast) into `moved` until kMaxMove events;
// `last`: the highest id read (`mark` when none), `more`: the outbox may hold more.
template <typename Stmt>
absl::Status ReadRows(Stmt& select, int64_t mark, MovedEvents& moved, int64_t& last, bool& more) {
  const size_t before = moved.events.size();
  last = mark;
  more = false;
  select.Bind(1, mark).Bind(2, kMaxMove);
  while (moved.events.size() - before < static_cast<size_t>(kMaxMove)) {
    ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) return absl::OkStatus();
    last = select.Int(0);
    RETURN_IF_ERROR(AddRow(select, moved));
  }
  more = true;
  return absl::OkStatus();
}

// DORSET_AUDIT_OUTBOX=off: every event is committed by the audit writer as before issue 16's
// outbox (two syncs per group-committed write), for bench/audit_sync_bench.sh to compare both in
// one build.
bool OutboxEnabled() {
  const char* value = std::getenv("DORSET_AUDIT_OUTBOX");
  return value == nullptr || std::string_view(value) != "off";
}

}  // namespace

void OutboxedAudit::Collect(const absl::Status& status, const google::protobuf::Message* reply,
                            std::vector<OutboxRow>& rows) {
  written.reset();  // a retried transaction collects again from nothing
  if (!row_for) return;
  OutboxRow& row = rows.emplace_back();
  if (!row_for(status, reply, row)) {
    rows.pop_back();
    return;
  }
  written = status.code();
}

AuditOutbox::~AuditOutbox() { log_.Detach(this); }

void AuditOutbox::NoteRows(size_t events) {
  if (store_.engine() == storage::Engine::kPostgres) {
    // Appended to the trail by the group's own commit: nothing to move.
    if (log_.metrics_.written != nullptr)
      log_.metrics_.written->Increment(static_cast<double>(events));
    return;
  }
  log_.NoteOutboxRows();
}

absl::Status AuditOutbox::Append(storage::Transaction& tx, std::span<const OutboxRow> rows) {
  if (tx.engine() == storage::Engine::kPostgres) {
    // Straight into the trail (a table of this database: AttachOutbox), in the trail's append
    // queue: the lock is held until this transaction ends, so its sequences come after every
    // event committed before and before every event committed after (issue 16: the outbox row
    // and its move cost the backends ~23 us an event, bench/README.md "Session 24"). Both sent:
    // they go in the commit's round trip.
    if (rows.empty()) return absl::OkStatus();
    ASSIGN_OR_RETURN(storage::Statement lock, tx.Prepare(kAppendLock));
    RETURN_IF_ERROR(lock.Bind(1, audit_rows::kAppendQueue).Send());
    return audit_rows::InsertEvents(
        rows.size(), [&rows](size_t i) -> const OutboxRow& { return rows[i]; }, tx);
  }
  if (!rows.empty()) {
    // One row for the group, its events packed (issue 16: a row per event, in a few multi-row
    // INSERTs, cost ~9k instructions an event, bench/README.md "Session 25").
    std::string packed;
    packed.reserve(rows.size() * 96);
    outbox_packing::Pack(rows, packed);
    ASSIGN_OR_RETURN(storage::Statement insert, tx.Prepare(kInsertPacked));
    absl::Status inserted = insert.Bind(1, rows.front().time_us)
                                .BindBlobKept(2, packed)
                                .Bind(3, static_cast<int64_t>(rows.size()))
                                .Run();
    insert.Reset();  // `packed` goes now
    RETURN_IF_ERROR(inserted);
  }
  // The rows the trail holds leave with this group's commit: the store needs no commit of its
  // own for them (and the group committer's writer no second writer to wait for).
  // Only up to what the trail holds durably: a move committed since its last sync point may be
  // lost with the trail's unsynced tail, and is then made again from these rows.
  if (tx.engine() == storage::Engine::kSqlite) {
    const int64_t durable = durable_.load();
    if (durable > deleted_.load()) {
      ASSIGN_OR_RETURN(storage::Statement remove, tx.Prepare(kDeleteMoved));
      RETURN_IF_ERROR(remove.Bind(1, durable).Run());
      deleted_.store(durable);  // if this group rolls back, the mark still skips them
    }
  }
  return absl::OkStatus();
}

std::unique_ptr<AuditOutbox> AuditLog::AttachOutbox(storage::Database& store, std::string name) {
  if (!OutboxEnabled()) return nullptr;
  auto refuse = [&name](absl::string_view why) -> std::unique_ptr<AuditOutbox> {
    log::Warn("audit outbox not used: audit events are committed after their writes",
              {{"store", name}, {"reason", std::string(why)}});
    return nullptr;
  };
  // A group must never fail on the outbox: its table must be there (the store's migrations).
  absl::Status has_table = store.Read([](storage::Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(
        storage::Statement probe,
        tx.Prepare(tx.engine() == storage::Engine::kSqlite ? kProbeSqlite : kProbePostgres));
    return probe.Step().status();
  });
  if (!has_table.ok()) return refuse(has_table.message());
  int64_t mark = 0;
  if (shared_ != nullptr) {
    // The move deletes from the outbox in the trail's own transaction: one database.
    if (store.engine() != storage::Engine::kPostgres || store.Describe() != shared_->Describe()) {
      return refuse("the store is not the audit trail's database");
    }
  } else {
    // The mark relies on ids given out in commit order by one writer: a SQLite store.
    if (store.engine() != storage::Engine::kSqlite) {
      return refuse("an audit trail in audit.db moves rows from a SQLite store only");
    }
    {
      absl::MutexLock lock(&reader_mu_);
      absl::StatusOr<sqlite::Statement> read = reader_->Prepare(kReadMark);
      if (!read.ok()) return refuse(read.status().message());
      read->Bind(1, name);
      absl::StatusOr<bool> row = read->Step();
      if (!row.ok()) return refuse(row.status().message());
      if (*row) mark = read->Int(0);
    }
    absl::StatusOr<int64_t> highest =
        storage::ReadReturning(store, [](storage::Transaction& tx) -> absl::StatusOr<int64_t> {
          ASSIGN_OR_RETURN(storage::Statement stmt, tx.Prepare(kHighestId));
          ASSIGN_OR_RETURN(bool row, stmt.Step());
          return row ? stmt.Int(0) : 0;
        });
    if (!highest.ok()) return refuse(highest.status().message());
    if (*highest < mark) {
      // The store is older than the trail (restored from a backup): its ids will be given out
      // again, so the mark would skip new events. Move every row it holds (some may be in the
      // trail already: a duplicate, never a loss).
      log::Warn("audit outbox: the store is older than the trail's mark; moving all its rows",
                {{"store", name}, {"mark", mark}, {"highest_id", *highest}});
      mark = 0;
    } else if (mark > 0) {
      // Rows a kill left after their move: delete them now (if this fails, the mark skips them).
      absl::Status deleted = store.Write([mark](storage::Transaction& tx) -> absl::Status {
        ASSIGN_OR_RETURN(storage::Statement remove, tx.Prepare(kDeleteMoved));
        return remove.Bind(1, mark).Run();
      });
      if (!deleted.ok()) {
        log::Warn("audit outbox: moved rows not deleted yet",
                  {{"store", name}, {"error", std::string(deleted.message())}});
      }
    }
  }
  std::unique_ptr<AuditOutbox> outbox(new AuditOutbox(*this, store, std::move(name), mark));
  outbox->deleted_.store(mark);
  absl::MutexLock lock(&mu_);
  outboxes_.push_back(outbox.get());
  outbox_rows_ = true;  // whatever an earlier run left is moved now
  return outbox;
}

void AuditLog::NoteOutboxRows() {
  absl::MutexLock lock(&mu_);
  outbox_rows_ = true;
}

void AuditLog::Detach(AuditOutbox* outbox) {
  // What it holds goes into the trail now; if the trail fails, the rows wait in the store for the
  // next start (durable either way).
  Flush();
  absl::MutexLock lock(&mu_);
  if (db_ != nullptr && unsynced_events_ > 0 && failure_.ok()) {
    // A sync point before the store goes: the marks it was attached with are durable when it is
    // attached again in this process (AttachOutbox deletes up to them). Bounded as Flush.
    const uint64_t ticket = ++sync_requests_;
    auto synced = [this, ticket]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return syncs_done_ >= ticket || unsynced_events_ == 0 || !failure_.ok();
    };
    mu_.AwaitWithTimeout(absl::Condition(&synced), kAckBudget);
  }
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !writing_; };
  mu_.Await(absl::Condition(&idle));  // the writer may be reading this store
  outboxes_.erase(std::remove(outboxes_.begin(), outboxes_.end(), outbox), outboxes_.end());
  if (!outbox->attached_.empty()) {
    // Nobody writes the trail while mu_ is held and writing_ is false: db_ is free.
    outbox->read_.reset();
    absl::Status detached = db_->Exec(absl::StrCat("DETACH DATABASE ", outbox->attached_));
    if (!detached.ok()) {
      log::Warn("audit outbox: store not detached from the trail",
                {{"store", outbox->name()}, {"error", std::string(detached.message())}});
    }
    outbox->attached_.clear();
  }
}

void AuditLog::AttachSqlite(AuditOutbox& source) {
  if (!source.attached_.empty() || source.attach_failed_ || db_ == nullptr) return;
  // The store's file, from its description ("sqlite://<path>"); an in-memory store has none.
  constexpr std::string_view kScheme = "sqlite://";
  const std::string described = source.store().Describe();
  const std::string_view path =
      std::string_view(described).substr(std::min(described.size(), kScheme.size()));
  const std::string schema = absl::StrCat("outbox_", ++attached_count_);
  auto attach = [&]() -> absl::Status {
    if (!std::string_view(described).starts_with(kScheme) || path.empty() || path == ":memory:" ||
        path.starts_with("file:")) {
      return absl::FailedPreconditionError("not a store file");
    }
    ASSIGN_OR_RETURN(sqlite::Statement attach_stmt, db_->Prepare("ATTACH DATABASE ? AS " + schema));
    RETURN_IF_ERROR(attach_stmt.Bind(1, path).Run());
    ASSIGN_OR_RETURN(sqlite::Statement read, db_->Prepare(RowsPast(schema)));
    source.read_ = std::make_unique<sqlite::Statement>(std::move(read));
    return absl::OkStatus();
  };
  absl::Status attached = attach();
  if (attached.ok()) {
    source.attached_ = schema;
    return;
  }
  // The rows are then read through the store's own pool, as before (one read per move).
  source.read_.reset();
  (void)db_->Exec(absl::StrCat("DETACH DATABASE ", schema));  // if the ATTACH itself succeeded
  source.attach_failed_ = true;
  log::Warn("audit outbox: store not attached to the trail; its rows are read and re-inserted",
            {{"store", source.name()}, {"error", std::string(attached.message())}});
}

absl::Status AuditLog::MoveFromSqlite(AuditOutbox& source, MovedEvents& moved_events,
                                      Moved& moved) {
  const int64_t mark = source.moved_.load();
  const size_t before = moved_events.events.size();
  int64_t last = mark;
  bool more = false;
  if (!source.attached_.empty()) {
    // The store is attached to the trail's connection (issue 16): its rows are read by the
    // trail's own transaction, which holds that read until the commit (no read through the
    // store's pool), and unpacked here; the caller appends their events with the trail's
    // multi-row INSERTs. Every row below the highest id that snapshot sees is in it (ids are
    // given out under the store's one writer, in commit order).
    sqlite::Statement& read = *source.read_;
    read.Reset();
    absl::Status status = ReadRows(read, mark, moved_events, last, more);
    read.Reset();
    RETURN_IF_ERROR(status);
  } else {
    // Every row below the highest id this snapshot sees is in it: ids are given out under the
    // store's single writer, in commit order.
    RETURN_IF_ERROR(source.store().Read([&](storage::Transaction& tx) -> absl::Status {
      moved_events.events.resize(before);  // a retried read starts again
      ASSIGN_OR_RETURN(storage::Statement select, tx.Prepare(RowsPast("")));
      return ReadRows(select, mark, moved_events, last, more);
    }));
  }
  if (last == mark) return absl::OkStatus();
  // Appended by the caller in this order, in the same transaction as the mark.
  RETURN_IF_ERROR(SaveMark(source, last));
  moved.marks.emplace_back(&source, last);
  moved.events += moved_events.events.size() - before;
  moved.more = moved.more || more;
  return absl::OkStatus();
}

absl::Status AuditLog::SaveMark(AuditOutbox& source, int64_t last) {
  if (save_mark_ == nullptr) {
    ASSIGN_OR_RETURN(sqlite::Statement save, db_->Prepare(kSaveMark));
    save_mark_ = std::make_unique<sqlite::Statement>(std::move(save));
  }
  save_mark_->Reset();
  absl::Status saved = save_mark_->Bind(1, source.name()).Bind(2, last).Run();
  save_mark_->Reset();
  return saved;
}

absl::Status AuditLog::MoveFromPostgres(storage::Transaction& tx, Moved& moved) {
  ASSIGN_OR_RETURN(storage::Statement move, tx.Prepare(kMoveOutbox));
  move.Bind(1, kMaxMove);
  ASSIGN_OR_RETURN(bool row, move.Step());
  const int64_t count = row ? move.Int(0) : 0;
  moved.events = static_cast<size_t>(count);
  moved.more = count == kMaxMove;
  return absl::OkStatus();
}

}  // namespace dorset::runtime
