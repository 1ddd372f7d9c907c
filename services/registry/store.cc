#include "services/registry/store.h"

#include <map>
#include <utility>
#include <variant>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "runtime/api/request_id.h"
#include "runtime/base/string_view.h"
#include "runtime/logging/log.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/etag.h"
#include "services/registry/closure_policy.h"
#include "services/registry/stored_text.h"
#include "services/registry/text.h"
#include "services/registry/validation.h"

namespace dorset::registry {
namespace {

using google::protobuf::util::TimeUtil;
using runtime::sqlite::Database;
using runtime::sqlite::Migration;
using runtime::sqlite::Statement;
using runtime::sqlite::Transaction;

constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE cluster (
  id TEXT PRIMARY KEY,
  display_name TEXT NOT NULL,
  create_time INTEGER NOT NULL,
  update_time INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE locality (
  id TEXT PRIMARY KEY,
  display_name TEXT NOT NULL,
  cluster_id TEXT NOT NULL REFERENCES cluster(id),
  create_time INTEGER NOT NULL,
  update_time INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX locality_by_cluster ON locality(cluster_id, id);
-- The imported practice -> locality mapping; kept apart from practices so a mapping can be
-- loaded before the practices it names.
CREATE TABLE locality_assignment (
  ods_code TEXT PRIMARY KEY,
  locality_id TEXT NOT NULL REFERENCES locality(id)
) WITHOUT ROWID;
-- Indexed columns for filters and ordering; `data` is the whole Practice message.
CREATE TABLE practice (
  ods_code TEXT PRIMARY KEY,
  display_name TEXT NOT NULL,
  postcode_key TEXT NOT NULL,
  status INTEGER NOT NULL,
  prescribing_setting INTEGER NOT NULL,
  commissioner TEXT NOT NULL,
  locality_id TEXT REFERENCES locality(id),
  list_size INTEGER,
  update_time INTEGER NOT NULL,
  revision INTEGER NOT NULL,
  data BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX practice_by_locality ON practice(locality_id, ods_code);
CREATE INDEX practice_by_status ON practice(status, ods_code);
CREATE INDEX practice_by_commissioner ON practice(commissioner, ods_code);
CREATE INDEX practice_by_name ON practice(display_name, ods_code);
CREATE INDEX practice_by_postcode ON practice(postcode_key, ods_code);
CREATE INDEX practice_by_setting ON practice(prescribing_setting, ods_code);
CREATE INDEX practice_by_update ON practice(update_time, ods_code);
-- The change feed. AUTOINCREMENT: sequences are never reused, even after a rollback of the
-- newest rows. `payload` is a Change message (sequence filled in when read).
CREATE TABLE change (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  kind INTEGER NOT NULL,
  resource TEXT NOT NULL,
  commit_time INTEGER NOT NULL,
  source TEXT NOT NULL,
  actor TEXT NOT NULL,
  payload BLOB NOT NULL
);
CREATE TABLE practice_revision (
  ods_code TEXT NOT NULL,
  revision INTEGER NOT NULL,
  seq INTEGER NOT NULL REFERENCES change(seq),
  PRIMARY KEY (ods_code, revision)
) WITHOUT ROWID;
-- Idempotency keys of mutations: a retried request_id gets the first response.
CREATE TABLE request (
  request_id TEXT PRIMARY KEY,
  method TEXT NOT NULL,
  response BLOB NOT NULL,
  create_time INTEGER NOT NULL
) WITHOUT ROWID;
)sql"},
    // Text written before the registry checked it (a Latin-1 epraccur or localities file) is
    // repaired in place, never skipped: non-UTF-8 strings are decoded as Windows-1252 and
    // control characters become spaces, in the indexed columns and inside the stored
    // messages alike, so every row (and every change-feed entry) reads again. The functions
    // are registered by Store::Open (stored_text.h).
    {2, R"sql(
UPDATE practice SET data = dorset_repaired_message('dorset.registry.v1.Practice', data)
  WHERE dorset_repaired_message('dorset.registry.v1.Practice', data) IS NOT NULL;
UPDATE practice SET display_name = dorset_repaired_text(display_name)
  WHERE dorset_repaired_text(display_name) IS NOT NULL;
UPDATE practice SET commissioner = dorset_repaired_text(commissioner)
  WHERE dorset_repaired_text(commissioner) IS NOT NULL;
UPDATE locality SET display_name = dorset_repaired_text(display_name)
  WHERE dorset_repaired_text(display_name) IS NOT NULL;
UPDATE cluster SET display_name = dorset_repaired_text(display_name)
  WHERE dorset_repaired_text(display_name) IS NOT NULL;
UPDATE change SET payload = dorset_repaired_message('dorset.registry.v1.Change', payload)
  WHERE dorset_repaired_message('dorset.registry.v1.Change', payload) IS NOT NULL;
UPDATE change SET resource = dorset_repaired_text(resource)
  WHERE dorset_repaired_text(resource) IS NOT NULL;
UPDATE change SET actor = dorset_repaired_text(actor) WHERE dorset_repaired_text(actor) IS NOT NULL;
UPDATE request SET response = dorset_repaired_message(
    CASE method WHEN 'ImportFile' THEN 'dorset.registry.v1.ImportReport'
                WHEN 'CreatePractice' THEN 'dorset.registry.v1.Practice'
                WHEN 'UpdatePractice' THEN 'dorset.registry.v1.Practice'
                WHEN 'ClosePractice' THEN 'dorset.registry.v1.Practice' END, response)
  WHERE dorset_repaired_message(
    CASE method WHEN 'ImportFile' THEN 'dorset.registry.v1.ImportReport'
                WHEN 'CreatePractice' THEN 'dorset.registry.v1.Practice'
                WHEN 'UpdatePractice' THEN 'dorset.registry.v1.Practice'
                WHEN 'ClosePractice' THEN 'dorset.registry.v1.Practice' END, response) IS NOT NULL;
)sql"},
    // An import's scratch table (WriteTx::SeeOnce): empty outside an import's transaction.
    {3, R"sql(
CREATE TABLE import_seen (
  key TEXT PRIMARY KEY,
  line INTEGER NOT NULL,
  value TEXT NOT NULL
) WITHOUT ROWID;
)sql"},
    // A request_id remembers which request it was for (runtime/api/request_id.h), so the same
    // id with different content is refused instead of answered with the first result. Rows
    // written before keep '' (compared as "unknown": answered as a retry, as they were).
    {4, R"sql(
ALTER TABLE request ADD COLUMN request_hash TEXT NOT NULL DEFAULT '';
)sql"},
};

google::protobuf::Timestamp FromMicros(int64_t micros) {
  return TimeUtil::MicrosecondsToTimestamp(micros);
}

absl::StatusOr<v1::Practice> ParsePractice(const std::string& bytes) {
  v1::Practice practice;
  if (!ParseStored(bytes, practice)) return runtime::Internal("stored practice unreadable");
  return practice;
}

// Stored TEXT as valid UTF-8 (rows the migration repaired never need this; it keeps one row
// written around the store from failing a whole reply).
std::string TextColumn(const Statement& stmt, int column) {
  std::string text = stmt.Text(column);
  if (std::optional<std::string> fixed = RepairedText(text)) return *std::move(fixed);
  return text;
}

// A practice whose stored message cannot be read at all is served from its indexed columns
// (SELECT ods_code, display_name, status, prescribing_setting, commissioner, locality_id,
// list_size, revision at `first`), so one damaged row never fails a list.
v1::Practice PracticeFromColumns(const Statement& stmt, int first) {
  v1::Practice p;
  p.set_ods_code(TextColumn(stmt, first));
  p.set_name(absl::StrCat("practices/", p.ods_code()));
  p.set_display_name(TextColumn(stmt, first + 1));
  p.set_status(static_cast<v1::Practice::Status>(stmt.Int(first + 2)));
  p.set_prescribing_setting(static_cast<int32_t>(stmt.Int(first + 3)));
  p.set_commissioner(TextColumn(stmt, first + 4));
  if (!stmt.IsNull(first + 5))
    p.set_locality(absl::StrCat("localities/", TextColumn(stmt, first + 5)));
  if (!stmt.IsNull(first + 6)) p.set_list_size(stmt.Int(first + 6));
  p.set_etag(runtime::storage::Etag(stmt.Int(first + 7)));
  return p;
}

constexpr char kPracticeColumns[] =
    "ods_code, display_name, status, prescribing_setting, commissioner, locality_id, list_size, "
    "revision";

// Reads the practice of a row selected as (data, <kPracticeColumns>...) starting at `data`.
v1::Practice ReadPracticeRow(const Statement& stmt, int data) {
  v1::Practice practice;
  if (ParseStored(stmt.Blob(data), practice)) {
    // The revision column is the truth: a row written by an earlier release carries its etag
    // in the message in that release's spelling.
    practice.set_etag(runtime::storage::Etag(stmt.Int(data + 8)));
    return practice;
  }
  runtime::log::Error("stored practice unreadable; served from its columns",
                      {{"ods_code", ForReply(stmt.Text(data + 1))}});
  return PracticeFromColumns(stmt, data + 1);
}

// A change whose stored payload cannot be read keeps its place in the feed (sequence, kind,
// resource, time, source) without the resource's state: the feed never has a gap.
v1::Change ReadChangeRow(const Statement& stmt, int seq) {
  v1::Change change;
  if (!ParseStored(stmt.Blob(seq + 1), change)) {
    runtime::log::Error("stored change unreadable; sent without its state",
                        {{"sequence", stmt.Int(seq)}});
    change.Clear();
    change.set_kind(static_cast<v1::Change::Kind>(stmt.Int(seq + 2)));
    change.set_resource(TextColumn(stmt, seq + 3));
    *change.mutable_commit_time() = TimeUtil::MicrosecondsToTimestamp(stmt.Int(seq + 4));
    change.set_source(TextColumn(stmt, seq + 5));
  }
  change.set_sequence(stmt.Int(seq));
  return change;
}

// Statement slots of WriteTx (prepared once per transaction, reused for every row).
enum Slot {
  kSeeOnce,
  kMarkSeen,
  kLoadPractice,
  kUpsertPractice,
  kInsertChange,
  kInsertRevision,
  kLoadAssignment,
  kUpsertAssignment,
  kSlotCount
};

}  // namespace

std::string EtagFor(int64_t revision) { return runtime::storage::Etag(revision); }

// ---- WriteTx ----

WriteTx::WriteTx(Database& db, std::string source, std::string actor)
    : db_(db),
      source_(std::move(source)),
      actor_(std::move(actor)),
      now_micros_(absl::ToUnixMicros(absl::Now())),
      statements_(kSlotCount) {}

absl::StatusOr<Statement*> WriteTx::Cached(int slot, std::string_view sql) {
  if (!statements_[slot].has_value()) {
    ASSIGN_OR_RETURN(Statement stmt, db_.Prepare(sql));
    statements_[slot].emplace(std::move(stmt));
  } else {
    statements_[slot]->Reset();
  }
  return &*statements_[slot];
}

absl::StatusOr<std::optional<v1::Practice>> WriteTx::LoadPractice(const std::string& code) {
  ASSIGN_OR_RETURN(Statement * stmt,
                   Cached(kLoadPractice, "SELECT data, revision FROM practice WHERE ods_code = ?"));
  stmt->Bind(1, code);
  ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return std::nullopt;
  ASSIGN_OR_RETURN(v1::Practice practice, ParsePractice(stmt->Blob(0)));
  // The revision column is the truth (a row written by an older release has its etag in the
  // message in that release's spelling).
  practice.set_etag(EtagFor(stmt->Int(1)));
  return practice;
}

absl::StatusOr<int64_t> WriteTx::AppendChange(v1::Change change, const std::string& resource) {
  change.set_resource(resource);
  change.set_source(source_);
  *change.mutable_commit_time() = FromMicros(now_micros_);
  ASSIGN_OR_RETURN(
      Statement * stmt,
      Cached(kInsertChange,
             "INSERT INTO change (kind, resource, commit_time, source, actor, payload) "
             "VALUES (?, ?, ?, ?, ?, ?)"));
  stmt->Bind(1, static_cast<int64_t>(change.kind()))
      .Bind(2, resource)
      .Bind(3, now_micros_)
      .Bind(4, source_)
      .Bind(5, actor_)
      .BindBlob(6, change.SerializeAsString());
  RETURN_IF_ERROR(stmt->Run());
  return db_.LastInsertRowId();
}

absl::Status WriteTx::SavePractice(v1::Practice& practice, const v1::Practice* previous,
                                   v1::Change::Kind kind, std::vector<std::string> changed_fields) {
  RETURN_IF_ERROR(CheckClosureInvariant(practice));
  int64_t revision = 1;
  if (previous != nullptr) {
    absl::StatusOr<int64_t> previous_revision = runtime::storage::ParseEtag(previous->etag());
    if (!previous_revision.ok()) return runtime::Internal("stored practice has no revision");
    revision = *previous_revision + 1;
    *practice.mutable_create_time() = previous->create_time();
  } else {
    *practice.mutable_create_time() = FromMicros(now_micros_);
  }
  practice.set_name(absl::StrCat("practices/", practice.ods_code()));
  *practice.mutable_update_time() = FromMicros(now_micros_);
  practice.set_etag(EtagFor(revision));
  const std::optional<std::string> locality_id =
      practice.locality().empty()
          ? std::nullopt
          : std::optional<std::string>(practice.locality().substr(sizeof("localities/") - 1));

  ASSIGN_OR_RETURN(Statement * upsert,
                   Cached(kUpsertPractice,
                          "INSERT OR REPLACE INTO practice (ods_code, display_name, postcode_key, "
                          "status, prescribing_setting, commissioner, locality_id, list_size, "
                          "update_time, revision, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  upsert->Bind(1, practice.ods_code())
      .Bind(2, practice.display_name())
      .Bind(3, PostcodeKey(practice.postcode()))
      .Bind(4, static_cast<int64_t>(practice.status()))
      .Bind(5, static_cast<int64_t>(practice.prescribing_setting()))
      .Bind(6, practice.commissioner())
      .Bind(7, locality_id)
      .Bind(8,
            practice.has_list_size() ? std::optional<int64_t>(practice.list_size()) : std::nullopt)
      .Bind(9, now_micros_)
      .Bind(10, revision)
      .BindBlob(11, practice.SerializeAsString());
  RETURN_IF_ERROR(upsert->Run());

  v1::Change change;
  change.set_kind(kind);
  for (std::string& field : changed_fields) change.add_changed_fields(std::move(field));
  *change.mutable_practice() = practice;
  ASSIGN_OR_RETURN(int64_t seq, AppendChange(std::move(change), practice.name()));

  ASSIGN_OR_RETURN(
      Statement * rev,
      Cached(kInsertRevision,
             "INSERT INTO practice_revision (ods_code, revision, seq) VALUES (?, ?, ?)"));
  rev->Bind(1, practice.ods_code()).Bind(2, revision).Bind(3, seq);
  RETURN_IF_ERROR(rev->Run());

  CommittedChange committed{seq, kind, practice.name(), practice.ods_code(), {}};
  committed.commissioners.push_back(practice.commissioner());
  if (previous != nullptr && previous->commissioner() != practice.commissioner()) {
    committed.commissioners.push_back(previous->commissioner());
  }
  Record(std::move(committed));
  return absl::OkStatus();
}

void WriteTx::Record(CommittedChange change) {
  if (change_count_++ == 0) first_sequence_ = change.sequence;
  last_sequence_ = change.sequence;
  if (changes_.size() < kMaxListedChanges) {
    changes_.push_back(std::move(change));
    return;
  }
  for (std::string& c : change.commissioners) unlisted_commissioners_.insert(std::move(c));
}

std::vector<std::string> WriteTx::unlisted_commissioners() const {
  return {unlisted_commissioners_.begin(), unlisted_commissioners_.end()};
}

absl::Status WriteTx::ResetSeen() { return db_.Exec("DELETE FROM import_seen"); }

absl::StatusOr<std::optional<WriteTx::Seen>> WriteTx::SeeOnce(const std::string& key, int line,
                                                              const std::string& value) {
  // Insert first: the common case (a key not seen before) costs one statement.
  ASSIGN_OR_RETURN(Statement * mark, Cached(kMarkSeen,
                                            "INSERT OR IGNORE INTO import_seen (key, line, value) "
                                            "VALUES (?, ?, ?)"));
  mark->Bind(1, key).Bind(2, static_cast<int64_t>(line)).Bind(3, value);
  RETURN_IF_ERROR(mark->Run());
  if (db_.Changes() == 1) return std::nullopt;
  ASSIGN_OR_RETURN(Statement * find,
                   Cached(kSeeOnce, "SELECT line, value FROM import_seen WHERE key = ?"));
  find->Bind(1, key);
  ASSIGN_OR_RETURN(bool row, find->Step());
  if (!row) return runtime::Internal("import scratch row vanished");
  return Seen{static_cast<int>(find->Int(0)), find->Text(1)};
}

absl::StatusOr<std::optional<std::string>> WriteTx::AssignedLocality(const std::string& code) {
  ASSIGN_OR_RETURN(
      Statement * stmt,
      Cached(kLoadAssignment, "SELECT locality_id FROM locality_assignment WHERE ods_code = ?"));
  stmt->Bind(1, code);
  ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return std::nullopt;
  return stmt->Text(0);
}

absl::StatusOr<std::optional<std::string>> WriteTx::SetAssignment(const std::string& code,
                                                                  const std::string& locality_id) {
  ASSIGN_OR_RETURN(std::optional<std::string> previous, AssignedLocality(code));
  if (previous == locality_id) return previous;
  ASSIGN_OR_RETURN(
      Statement * stmt,
      Cached(kUpsertAssignment,
             "INSERT INTO locality_assignment (ods_code, locality_id) VALUES (?, ?) "
             "ON CONFLICT(ods_code) DO UPDATE SET locality_id = excluded.locality_id"));
  stmt->Bind(1, code).Bind(2, locality_id);
  RETURN_IF_ERROR(stmt->Run());
  return previous;
}

absl::StatusOr<std::optional<LocalityRow>> WriteTx::LoadLocality(const std::string& id) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db_.Prepare("SELECT id, display_name, cluster_id FROM locality WHERE id = ?"));
  stmt.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::nullopt;
  return LocalityRow{stmt.Text(0), stmt.Text(1), stmt.Text(2)};
}

absl::Status WriteTx::SaveLocality(const LocalityRow& row, bool is_new) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db_.Prepare("INSERT INTO locality (id, display_name, cluster_id, create_time, "
                               "update_time) VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT(id) DO "
                               "UPDATE SET display_name = ?2, cluster_id = ?3, update_time = ?4"));
  stmt.Bind(1, row.id).Bind(2, row.display_name).Bind(3, row.cluster_id).Bind(4, now_micros_);
  RETURN_IF_ERROR(stmt.Run());
  v1::Change change;
  change.set_kind(v1::Change::LOCALITY_UPSERTED);
  v1::Locality* locality = change.mutable_locality();
  locality->set_name(absl::StrCat("localities/", row.id));
  locality->set_display_name(row.display_name);
  locality->set_cluster(absl::StrCat("clusters/", row.cluster_id));
  const std::string resource = locality->name();
  ASSIGN_OR_RETURN(int64_t seq, AppendChange(std::move(change), resource));
  Record({seq, v1::Change::LOCALITY_UPSERTED, resource, "", {}});
  return absl::OkStatus();
}

absl::StatusOr<std::optional<ClusterRow>> WriteTx::LoadCluster(const std::string& id) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db_.Prepare("SELECT id, display_name FROM cluster WHERE id = ?"));
  stmt.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::nullopt;
  return ClusterRow{stmt.Text(0), stmt.Text(1)};
}

absl::Status WriteTx::SaveCluster(const ClusterRow& row, bool is_new) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db_.Prepare("INSERT INTO cluster (id, display_name, create_time, update_time) "
                               "VALUES (?1, ?2, ?3, ?3) ON CONFLICT(id) DO UPDATE SET "
                               "display_name = ?2, update_time = ?3"));
  stmt.Bind(1, row.id).Bind(2, row.display_name).Bind(3, now_micros_);
  RETURN_IF_ERROR(stmt.Run());
  v1::Change change;
  change.set_kind(v1::Change::CLUSTER_UPSERTED);
  v1::Cluster* cluster = change.mutable_cluster();
  cluster->set_name(absl::StrCat("clusters/", row.id));
  cluster->set_display_name(row.display_name);
  const std::string resource = cluster->name();
  ASSIGN_OR_RETURN(int64_t seq, AppendChange(std::move(change), resource));
  Record({seq, v1::Change::CLUSTER_UPSERTED, resource, "", {}});
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> WriteTx::FindRequest(const std::string& request_id,
                                                                const std::string& method,
                                                                const std::string& request_hash) {
  ASSIGN_OR_RETURN(Statement stmt, db_.Prepare("SELECT method, request_hash, response FROM request "
                                               "WHERE request_id = ?"));
  stmt.Bind(1, request_id);
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::nullopt;
  // Another method's id is a different request by definition.
  if (stmt.Text(0) != method) return runtime::RequestIdReused();
  RETURN_IF_ERROR(runtime::CheckReplay(stmt.Text(1), request_hash));
  return stmt.Blob(2);
}

absl::Status WriteTx::SaveRequest(const std::string& request_id, const std::string& method,
                                  const std::string& request_hash, const std::string& response) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db_.Prepare("INSERT INTO request (request_id, method, response, "
                               "create_time, request_hash) VALUES (?, ?, ?, ?, ?)"));
  stmt.Bind(1, request_id).Bind(2, method).BindBlob(3, response).Bind(4, now_micros_);
  stmt.Bind(5, request_hash);
  return stmt.Run();
}

absl::StatusOr<std::vector<v1::ImportReport::Mismatch>> WriteTx::Mismatches(
    const std::string& commissioner, int limit, int* total) {
  std::vector<v1::ImportReport::Mismatch> mismatches;
  *total = 0;
  {
    ASSIGN_OR_RETURN(Statement any,
                     db_.Prepare("SELECT 1 FROM practice WHERE list_size IS NOT NULL AND "
                                 "(?1 = '' OR commissioner = ?1) LIMIT 1"));
    any.Bind(1, commissioner);
    ASSIGN_OR_RETURN(bool has_list_sizes, any.Step());
    if (!has_list_sizes) return mismatches;
  }
  ASSIGN_OR_RETURN(
      Statement stmt,
      db_.Prepare("SELECT ods_code, status, prescribing_setting, list_size IS NOT NULL FROM "
                  "practice WHERE (?1 = '' OR commissioner = ?1) AND "
                  "((status != 1 AND list_size IS NOT NULL) OR (status = 1 AND list_size IS NULL))"
                  " ORDER BY ods_code"));
  stmt.Bind(1, commissioner);
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    if ((*total)++ >= limit) continue;
    v1::ImportReport::Mismatch& m = mismatches.emplace_back();
    m.set_ods_code(stmt.Text(0));
    m.set_status(static_cast<v1::Practice::Status>(stmt.Int(1)));
    m.set_prescribing_setting(static_cast<int32_t>(stmt.Int(2)));
    m.set_kind(stmt.Int(3) != 0 ? v1::ImportReport::Mismatch::LIST_SIZE_NOT_ACTIVE
                                : v1::ImportReport::Mismatch::ACTIVE_WITHOUT_LIST_SIZE);
  }
  return mismatches;
}

// ---- Store ----

class Store::Reader {
 public:
  Reader(Store* store, std::unique_ptr<Database> db) : store_(store), db_(std::move(db)) {}
  Reader(Reader&& other) noexcept : store_(other.store_), db_(std::move(other.db_)) {}
  Reader& operator=(Reader&&) = delete;
  ~Reader() {
    if (db_ != nullptr) store_->ReturnReader(std::move(db_));
  }
  Database& db() { return *db_; }

 private:
  Store* store_;
  std::unique_ptr<Database> db_;
};

// A read transaction: every query inside sees the same snapshot.
class ReadSnapshot {
 public:
  static absl::StatusOr<ReadSnapshot> Begin(Database& db) {
    RETURN_IF_ERROR(db.Exec("BEGIN"));
    return ReadSnapshot(&db);
  }
  ReadSnapshot(ReadSnapshot&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}
  ~ReadSnapshot() {
    if (db_ != nullptr) (void)db_->Exec("COMMIT");
  }

 private:
  explicit ReadSnapshot(Database* db) : db_(db) {}
  Database* db_;
};

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<Database> writer, Database::Open(path));
  RETURN_IF_ERROR(RegisterRepairFunctions(writer->handle()));
  RETURN_IF_ERROR(writer->Migrate(kMigrations));
  return std::unique_ptr<Store>(new Store(path, std::move(writer)));
}

absl::StatusOr<Store::Reader> Store::LeaseReader() {
  {
    absl::MutexLock lock(&pool_mu_);
    if (!idle_readers_.empty()) {
      std::unique_ptr<Database> db = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return Reader(this, std::move(db));
    }
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Database> db, Database::Open(path_));
  return Reader(this, std::move(db));
}

void Store::ReturnReader(std::unique_ptr<Database> db) {
  absl::MutexLock lock(&pool_mu_);
  if (idle_readers_.size() < 16) idle_readers_.push_back(std::move(db));
}

absl::StatusOr<std::vector<CommittedChange>> Store::Write(
    const std::string& source, const std::string& actor,
    const std::function<absl::Status(WriteTx&)>& fn) {
  absl::MutexLock lock(&write_mu_);
  ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*writer_));
  std::vector<CommittedChange> changes;
  {
    WriteTx write(*writer_, source, actor);
    RETURN_IF_ERROR(fn(write));
    changes = write.changes();
  }  // statements finalised before COMMIT
  RETURN_IF_ERROR(tx.Commit());
  return changes;
}

absl::Status Store::Check() {
  ASSIGN_OR_RETURN(Reader reader, LeaseReader());
  ASSIGN_OR_RETURN(Statement stmt, reader.db().Prepare("SELECT COUNT(*) FROM cluster"));
  return stmt.Step().status();
}

absl::StatusOr<std::optional<v1::Practice>> Store::GetPractice(const std::string& code) {
  ASSIGN_OR_RETURN(Reader reader, LeaseReader());
  ASSIGN_OR_RETURN(Statement stmt,
                   reader.db().Prepare(absl::StrCat("SELECT data, ", kPracticeColumns,
                                                    " FROM practice WHERE ods_code = ?")));
  stmt.Bind(1, code);
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::nullopt;
  return ReadPracticeRow(stmt, 0);
}

namespace {

// The SQL of a practice query: WHERE clause (with ? binds) and the sort expression.
struct QuerySql {
  std::string where;
  std::vector<std::variant<std::string, int64_t>> binds;
  std::string sort;
  bool sort_is_text = true;
};

QuerySql BuildQuery(const PracticeQuery& q) {
  QuerySql sql;
  std::vector<std::string> conditions;
  if (!q.locality_id.empty()) {
    conditions.push_back("locality_id = ?");
    sql.binds.emplace_back(q.locality_id);
  }
  if (!q.cluster_id.empty()) {
    conditions.push_back("locality_id IN (SELECT id FROM locality WHERE cluster_id = ?)");
    sql.binds.emplace_back(q.cluster_id);
  }
  if (!q.statuses.empty()) {
    std::vector<std::string> marks(q.statuses.size(), "?");
    conditions.push_back(absl::StrCat("status IN (", absl::StrJoin(marks, ","), ")"));
    for (int s : q.statuses) sql.binds.emplace_back(static_cast<int64_t>(s));
  }
  if (!q.name_contains.empty()) {
    std::string pattern = "%";
    for (char c : q.name_contains) {
      if (c == '%' || c == '_' || c == '\\') pattern.push_back('\\');
      pattern.push_back(c);
    }
    pattern.push_back('%');
    conditions.push_back("display_name LIKE ? ESCAPE '\\'");
    sql.binds.emplace_back(pattern);
  }
  if (!q.postcode_prefix_key.empty()) {
    // A range on the index instead of LIKE (which would not use it).
    conditions.push_back("postcode_key >= ? AND postcode_key < ?");
    sql.binds.emplace_back(q.postcode_prefix_key);
    sql.binds.emplace_back(q.postcode_prefix_key + "\x7f");
  }
  if (q.prescribing_setting.has_value()) {
    conditions.push_back("prescribing_setting = ?");
    sql.binds.emplace_back(static_cast<int64_t>(*q.prescribing_setting));
  }
  if (!q.commissioner.empty()) {
    conditions.push_back("commissioner = ?");
    sql.binds.emplace_back(q.commissioner);
  }
  sql.where = conditions.empty() ? "1" : absl::StrJoin(conditions, " AND ");
  switch (q.order) {
    case PracticeQuery::Order::kOdsCode:
      sql.sort = "ods_code";
      break;
    case PracticeQuery::Order::kDisplayName:
      sql.sort = "display_name";
      break;
    case PracticeQuery::Order::kPostcode:
      sql.sort = "postcode_key";
      break;
    case PracticeQuery::Order::kUpdateTime:
      sql.sort = "update_time";
      sql.sort_is_text = false;
      break;
    case PracticeQuery::Order::kListSize:
      sql.sort = "COALESCE(list_size, -1)";
      sql.sort_is_text = false;
      break;
  }
  return sql;
}

void BindAll(Statement& stmt, const std::vector<std::variant<std::string, int64_t>>& binds,
             int first = 1) {
  int i = first;
  for (const auto& b : binds) {
    if (std::holds_alternative<std::string>(b)) {
      stmt.Bind(i++, std::get<std::string>(b));
    } else {
      stmt.Bind(i++, std::get<int64_t>(b));
    }
  }
}

}  // namespace

absl::StatusOr<PracticePage> Store::ListPractices(const PracticeQuery& query,
                                                  const std::optional<PracticeCursor>& after,
                                                  int limit) {
  const QuerySql sql = BuildQuery(query);
  const char* dir = query.descending ? "DESC" : "ASC";
  const char* cmp = query.descending ? "<" : ">";
  std::string keyset;
  std::vector<std::variant<std::string, int64_t>> binds = sql.binds;
  if (after.has_value()) {
    if (query.order == PracticeQuery::Order::kOdsCode) {
      keyset = absl::StrCat(" AND ods_code ", cmp, " ?");
      binds.emplace_back(after->ods_code);
    } else {
      keyset = absl::StrCat(" AND (", sql.sort, " ", cmp, " ? OR (", sql.sort, " = ? AND ods_code ",
                            cmp, " ?))");
      for (int i = 0; i < 2; ++i) {
        if (sql.sort_is_text) {
          binds.emplace_back(after->text);
        } else {
          binds.emplace_back(after->number);
        }
      }
      binds.emplace_back(after->ods_code);
    }
  }
  const std::string select =
      query.order == PracticeQuery::Order::kOdsCode
          ? absl::StrCat("SELECT ods_code, data, ", kPracticeColumns, " FROM practice WHERE ",
                         sql.where, keyset, " ORDER BY ods_code ", dir, " LIMIT ?")
          : absl::StrCat("SELECT ", sql.sort, ", data, ", kPracticeColumns, " FROM practice WHERE ",
                         sql.where, keyset, " ORDER BY ", sql.sort, " ", dir, ", ods_code ", dir,
                         " LIMIT ?");

  ASSIGN_OR_RETURN(Reader reader, LeaseReader());
  ASSIGN_OR_RETURN(ReadSnapshot snapshot, ReadSnapshot::Begin(reader.db()));
  PracticePage page;
  {
    ASSIGN_OR_RETURN(Statement stmt, reader.db().Prepare(select));
    BindAll(stmt, binds);
    stmt.Bind(static_cast<int>(binds.size()) + 1, static_cast<int64_t>(limit + 1));
    PracticeCursor cursor;
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      if (static_cast<int>(page.practices.size()) == limit) {
        page.last = cursor;  // there is at least one more row
        break;
      }
      v1::Practice practice = ReadPracticeRow(stmt, 1);
      cursor.ods_code = stmt.Text(2);  // the stored key, exactly as the keyset compares it
      if (sql.sort_is_text) {
        cursor.text = stmt.Text(0);
      } else {
        cursor.number = stmt.Int(0);
      }
      page.practices.push_back(std::move(practice));
    }
  }
  {
    ASSIGN_OR_RETURN(Statement count, reader.db().Prepare(absl::StrCat(
                                          "SELECT COUNT(*) FROM practice WHERE ", sql.where)));
    BindAll(count, sql.binds);
    ASSIGN_OR_RETURN(bool row, count.Step());
    page.total_size = row ? static_cast<int>(count.Int(0)) : 0;
  }
  return page;
}

absl::StatusOr<std::vector<v1::PracticeRevision>> Store::ListRevisions(const std::string& code,
                                                                       int64_t before_revision,
                                                                       int limit) {
  ASSIGN_OR_RETURN(Reader reader, LeaseReader());
  ASSIGN_OR_RETURN(
      Statement stmt,
      reader.db().Prepare("SELECT r.revision, r.seq, c.kind, c.payload, c.commit_time, c.actor "
                          "FROM practice_revision r JOIN change c ON c.seq = r.seq "
                          "WHERE r.ods_code = ? AND r.revision < ? ORDER BY r.revision DESC "
                          "LIMIT ?"));
  stmt.Bind(1, code).Bind(2, before_revision).Bind(3, static_cast<int64_t>(limit));
  std::vector<v1::PracticeRevision> revisions;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    v1::PracticeRevision& r = revisions.emplace_back();
    r.set_revision(stmt.Int(0));
    r.set_sequence(stmt.Int(1));
    r.set_kind(static_cast<v1::Change::Kind>(stmt.Int(2)));
    v1::Change change;
    if (ParseStored(stmt.Blob(3), change)) {
      *r.mutable_practice() = std::move(*change.mutable_practice());
    } else {
      runtime::log::Error("stored change unreadable; revision listed without its state",
                          {{"sequence", stmt.Int(1)}});
    }
    *r.mutable_create_time() = FromMicros(stmt.Int(4));
    r.set_actor(TextColumn(stmt, 5));
  }
  return revisions;
}

absl::StatusOr<std::vector<v1::Locality>> Store::LocalitiesOn(Database& db,
                                                              const std::string& cluster_id,
                                                              const Populations& populations) {
  ASSIGN_OR_RETURN(Statement stmt,
                   db.Prepare("SELECT l.id, l.display_name, l.cluster_id, "
                              "COALESCE(SUM(p.status = 1), 0), COUNT(p.ods_code) "
                              "FROM locality l LEFT JOIN practice p ON p.locality_id = l.id "
                              "WHERE ?1 = '' OR l.cluster_id = ?1 GROUP BY l.id ORDER BY l.id"));
  stmt.Bind(1, cluster_id);
  std::vector<v1::Locality> localities;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    v1::Locality& l = localities.emplace_back();
    l.set_name(absl::StrCat("localities/", TextColumn(stmt, 0)));
    l.set_display_name(TextColumn(stmt, 1));
    l.set_cluster(absl::StrCat("clusters/", TextColumn(stmt, 2)));
    l.set_practice_count(static_cast<int32_t>(stmt.Int(3)));
    l.set_total_practice_count(static_cast<int32_t>(stmt.Int(4)));
    // Populations follow successors and carry their list-size dates (population.h).
    const PopulationFigures figures = populations.Locality(stmt.Text(0));
    l.set_registered_patients(figures.registered_patients);
    l.set_active_registered_patients(figures.active_registered_patients);
    l.set_patients_from_closed_practices(figures.moved_in_patients);
    *l.mutable_list_sizes() = figures.Vintage();
  }
  return localities;
}

absl::StatusOr<std::vector<v1::Cluster>> Store::ClustersOn(Database& db,
                                                           const Populations& populations) {
  ASSIGN_OR_RETURN(std::vector<v1::Locality> localities, LocalitiesOn(db, "", populations));
  std::map<std::string, PopulationFigures> figures;
  ASSIGN_OR_RETURN(Statement stmt, db.Prepare("SELECT id, display_name FROM cluster ORDER BY id"));
  std::vector<v1::Cluster> clusters;
  std::map<std::string, size_t> index;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    v1::Cluster& c = clusters.emplace_back();
    c.set_name(absl::StrCat("clusters/", TextColumn(stmt, 0)));
    c.set_display_name(TextColumn(stmt, 1));
    index[c.name()] = clusters.size() - 1;
  }
  for (const v1::Locality& l : localities) {
    auto it = index.find(l.cluster());
    if (it == index.end()) continue;
    v1::Cluster& c = clusters[it->second];
    c.add_localities(l.name());
    c.set_practice_count(c.practice_count() + l.practice_count());
    c.set_total_practice_count(c.total_practice_count() + l.total_practice_count());
    c.set_registered_patients(c.registered_patients() + l.registered_patients());
    c.set_active_registered_patients(c.active_registered_patients() +
                                     l.active_registered_patients());
    c.set_patients_from_closed_practices(c.patients_from_closed_practices() +
                                         l.patients_from_closed_practices());
    figures[c.name()].Merge(populations.Locality(l.name().substr(sizeof("localities/") - 1)));
  }
  for (v1::Cluster& c : clusters) *c.mutable_list_sizes() = figures[c.name()].Vintage();
  return clusters;
}

absl::StatusOr<std::vector<v1::Locality>> Store::Localities(const std::string& cluster_id) {
  ASSIGN_OR_RETURN(Reader reader, LeaseReader());
  ASSIGN_OR_RETURN(ReadSnapshot snapshot, ReadSnapshot::Begin(reader.db()));
  ASSIGN_OR_RETURN(Populations populations, Populations::Load(reader.db()));
  return LocalitiesOn(reader.db(), cluster_id, populations);
}

absl::StatusOr<std::vector<v1::Cluster>> Store::Clusters() {
  ASSIGN_OR_RETURN(Reader reader, LeaseReader());
  ASSIGN_OR_RETURN(ReadSnapshot snapshot, ReadSnapshot::Begin(reader.db()));
  ASSIGN_OR_RETURN(Populations populations, Populations::Load(reader.db()));
  return ClustersOn(reader.db(), populations);
}

namespace {
absl::StatusOr<bool> Exists(Database& db, std::string_view sql, const std::string& id) {
  ASSIGN_OR_RETURN(Statement stmt, db.Prepare(sql));
  stmt.Bind(1, id);
  return stmt.Step();
}

absl::StatusOr<std::vector<std::string>> Ids(Database& db, std::string_view sql) {
  ASSIGN_OR_RETURN(Statement stmt, db.Prepare(sql));
  std::vector<std::string> ids;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    ids.push_back(stmt.Text(0));
  }
  return ids;
}
}  // namespace

absl::StatusOr<bool> Store::LocalityExists(const std::string& id) {
  ASSIGN_OR_RETURN(Reader reader, LeaseReader());
  return Exists(reader.db(), "SELECT 1 FROM locality WHERE id = ?", id);
}

absl::StatusOr<bool> Store::ClusterExists(const std::string& id) {
  ASSIGN_OR_RETURN(Reader reader, LeaseReader());
  return Exists(reader.db(), "SELECT 1 FROM cluster WHERE id = ?", id);
}

absl::StatusOr<std::vector<std::string>> Store::LocalityIds() {
  ASSIGN_OR_RETURN(Reader reader, LeaseReader());
  return Ids(reader.db(), "SELECT id FROM locality ORDER BY id");
}

absl::StatusOr<std::vector<std::string>> Store::ClusterIds() {
  ASSIGN_OR_RETURN(Reader reader, LeaseReader());
  return Ids(reader.db(), "SELECT id FROM cluster ORDER BY id");
}

absl::StatusOr<v1::AreaSummary> Store::Summary(const std::string& commissioner, bool* found) {
  ASSIGN_OR_RETURN(Reader reader, LeaseReader());
  Database& db = reader.db();
  ASSIGN_OR_RETURN(ReadSnapshot snapshot, ReadSnapshot::Begin(db));
  v1::AreaSummary summary;
  {
    ASSIGN_OR_RETURN(Statement stmt,
                     db.Prepare("SELECT status, COUNT(*) FROM practice WHERE commissioner = ? "
                                "GROUP BY status ORDER BY status"));
    stmt.Bind(1, commissioner);
    int total = 0;
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      auto* count = summary.add_practices_by_status();
      count->set_status(static_cast<v1::Practice::Status>(stmt.Int(0)));
      count->set_count(static_cast<int32_t>(stmt.Int(1)));
      total += count->count();
    }
    summary.set_practice_count(total);
    *found = total > 0;
  }
  {
    ASSIGN_OR_RETURN(
        Statement stmt,
        db.Prepare("SELECT COALESCE(SUM(status = 1 AND prescribing_setting = 4), 0), "
                   "COALESCE(SUM(locality_id IS NULL), 0) FROM practice WHERE commissioner = ?"));
    stmt.Bind(1, commissioner);
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (row) {
      summary.set_active_gp_practice_count(static_cast<int32_t>(stmt.Int(0)));
      summary.set_unassigned_practice_count(static_cast<int32_t>(stmt.Int(1)));
    }
  }
  ASSIGN_OR_RETURN(Populations populations, Populations::Load(db));
  populations.FillSummary(commissioner, summary);
  ASSIGN_OR_RETURN(std::vector<v1::Cluster> clusters, ClustersOn(db, populations));
  for (auto& c : clusters) *summary.add_clusters() = std::move(c);
  ASSIGN_OR_RETURN(std::vector<v1::Locality> localities, LocalitiesOn(db, "", populations));
  for (auto& l : localities) *summary.add_localities() = std::move(l);
  {
    ASSIGN_OR_RETURN(Statement stmt, db.Prepare("SELECT COALESCE(MAX(seq), 0) FROM change"));
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    summary.set_as_of_sequence(row ? stmt.Int(0) : 0);
  }
  return summary;
}

absl::StatusOr<std::vector<v1::Change>> Store::ChangesAfter(int64_t after, int limit) {
  ASSIGN_OR_RETURN(Reader reader, LeaseReader());
  ASSIGN_OR_RETURN(
      Statement stmt,
      reader.db().Prepare("SELECT seq, payload, kind, resource, commit_time, source FROM change "
                          "WHERE seq > ? ORDER BY seq LIMIT ?"));
  stmt.Bind(1, after).Bind(2, static_cast<int64_t>(limit));
  std::vector<v1::Change> changes;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    changes.push_back(ReadChangeRow(stmt, 0));
  }
  return changes;
}

absl::StatusOr<int64_t> Store::LatestSequence() {
  ASSIGN_OR_RETURN(Reader reader, LeaseReader());
  ASSIGN_OR_RETURN(Statement stmt, reader.db().Prepare("SELECT COALESCE(MAX(seq), 0) FROM change"));
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  return row ? stmt.Int(0) : 0;
}

}  // namespace dorset::registry
