// The registry store's write transaction (WriteTx, store.h): practices, their revisions and
// changes one at a time, localities and clusters, requests and the import's mismatches; the
// import's set-based paths are in write_tx_bulk.cc.
#include <map>
#include <utility>
#include <variant>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "runtime/base/string_view.h"
#include "runtime/logging/log.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/database.h"
#include "runtime/storage/etag.h"
#include "runtime/storage/idempotency.h"
#include "runtime/storage/postgres/listener.h"
#include "services/registry/closure_policy.h"
#include "services/registry/storage/storage_rows.h"
#include "services/registry/storage/store.h"
#include "services/registry/stored_text.h"
#include "services/registry/text.h"
#include "services/registry/validation.h"

namespace dorset::registry {

using google::protobuf::util::TimeUtil;
using runtime::storage::Database;
using runtime::storage::Engine;
using runtime::storage::Statement;
using runtime::storage::Transaction;
using storage_rows::FromMicros;
using storage_rows::kPracticeColumns;
using storage_rows::ParsePractice;
using storage_rows::ReadChangeRow;
using storage_rows::ReadPracticeRow;
using storage_rows::TextColumn;

WriteTx::WriteTx(Transaction& tx, std::string source, std::string actor)
    : tx_(tx),
      source_(std::move(source)),
      actor_(std::move(actor)),
      now_micros_(absl::ToUnixMicros(absl::Now())),
      statements_(kSlotCount) {}

WriteTx::~WriteTx() = default;

absl::StatusOr<Statement*> WriteTx::Cached(int slot, std::string_view sql) {
  if (statements_[slot] == nullptr) {
    ASSIGN_OR_RETURN(Statement stmt, tx_.Prepare(sql));
    statements_[slot] = std::make_unique<Statement>(std::move(stmt));
  } else {
    statements_[slot]->Reset();
  }
  return statements_[slot].get();
}

absl::StatusOr<Statement*> WriteTx::CachedRows(int slot, size_t rows,
                                               const std::function<std::string(size_t)>& sql) {
  std::unique_ptr<Statement>& cached = batch_statements_[{slot, rows}];
  if (cached == nullptr) {
    ASSIGN_OR_RETURN(Statement stmt, tx_.Prepare(sql(rows)));
    cached = std::make_unique<Statement>(std::move(stmt));
  } else {
    cached->Reset();
  }
  return cached.get();
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

// ---- Change sequences ----
//
// The change feed promises (docs/registry.md) sequences without gaps, in commit order: a
// reader that has seen N has seen everything below N, which is what WatchChanges and the next
// issue's replicas resume by. AUTOINCREMENT or a PostgreSQL sequence would not do: a sequence
// hands out numbers at insert time, so two transactions on PostgreSQL can commit out of order
// (7 visible before 6), and a rolled-back transaction leaves a gap.
//
// So the numbers come from one counter row, change_sequence.last_seq. A transaction's first
// change reads it with an UPDATE (which on PostgreSQL takes the row's lock and holds it until
// COMMIT or ROLLBACK; on SQLite the transaction already holds the database's one write lock),
// numbers its changes on from it, and writes the last one back before it commits. Why this is
// sound on PostgreSQL (SERIALIZABLE): a second transaction that reaches the counter while the
// first holds it waits for the lock; when the first commits, the second fails with a
// serialization failure (40001) and the lane runs it again from the start (database.h), now
// reading the first one's last number. When the first rolls back, its numbers were never
// written, so they are handed out again: no gap. Hence sequences are handed out in the order
// the transactions commit: commit(N-1) happens before transaction N can read the counter, so any
// snapshot that sees N sees N-1. Writers of one process also queue on Store::write_mu_, so
// they never conflict with each other; the counter is what makes several processes (replicas)
// safe.
absl::StatusOr<int64_t> WriteTx::AppendChange(v1::Change change, const std::string& resource) {
  ASSIGN_OR_RETURN(const int64_t seq, NextSequence());
  change.set_resource(resource);
  change.set_source(source_);
  *change.mutable_commit_time() = FromMicros(now_micros_);
  ASSIGN_OR_RETURN(
      Statement * stmt,
      Cached(kInsertChange,
             "INSERT INTO change (seq, kind, resource, commit_time, source, actor, payload) "
             "VALUES (?, ?, ?, ?, ?, ?, ?)"));
  stmt->Bind(1, seq)
      .Bind(2, static_cast<int64_t>(change.kind()))
      .Bind(3, resource)
      .Bind(4, now_micros_)
      .Bind(5, source_)
      .Bind(6, actor_)
      .BindBlob(7, change.SerializeAsString());
  RETURN_IF_ERROR(stmt->Run());
  return seq;
}

absl::Status WriteTx::FinishSequences() {
  if (next_sequence_ == 0) return absl::OkStatus();  // no change: the counter was not touched
  ASSIGN_OR_RETURN(Statement stmt,
                   tx_.Prepare("UPDATE change_sequence SET last_seq = ? WHERE id = 1"));
  stmt.Bind(1, next_sequence_ - 1);
  RETURN_IF_ERROR(Apply(stmt));
  if (tx_.engine() == runtime::storage::Engine::kPostgres) {
    // Delivered to the other replicas' listeners when, and only if, this transaction commits
    // (ChangeFollower); they read the rows themselves, so the payload is empty. A write of
    // practices also merges the name index's pending list (PostgreSQL step 5 says why; skipped
    // by a role that does not own the index, whose entries then wait for autovacuum).
    ASSIGN_OR_RETURN(
        Statement notify,
        tx_.Prepare(absl::StrCat(
            "SELECT pg_notify('", Store::kChangesChannel, "', '')",
            practices_written_
                ? ", (SELECT gin_clean_pending_list(c.oid) FROM pg_class c WHERE c.oid = "
                  "to_regclass('practice_by_name_trigram') AND pg_has_role(c.relowner, 'USAGE'))"
                : "")));
    RETURN_IF_ERROR(notify.Run());
  }
  return absl::OkStatus();
}

absl::Status WriteTx::SavePractice(v1::Practice& practice, const v1::Practice* previous,
                                   v1::Change::Kind kind, std::vector<std::string> changed_fields) {
  PracticeSave save{std::move(practice), previous, kind, std::move(changed_fields)};
  absl::Status saved = SavePractices(std::span<PracticeSave>(&save, 1));
  practice = std::move(save.practice);
  return saved;
}

absl::StatusOr<int64_t> WriteTx::NextSequence() {
  if (next_sequence_ == 0) {
    ASSIGN_OR_RETURN(Statement take,
                     tx_.Prepare("UPDATE change_sequence SET last_seq = last_seq WHERE id = 1 "
                                 "RETURNING last_seq"));
    ASSIGN_OR_RETURN(bool row, take.Step());
    if (!row) return runtime::Internal("the change counter row is missing");
    next_sequence_ = take.Int(0) + 1;
  }
  return next_sequence_++;
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

absl::Status WriteTx::Apply(Statement& stmt) {
  if (!bulk_) return stmt.Run();
  RETURN_IF_ERROR(stmt.Send());
  if (tx_.engine() != Engine::kPostgres) return absl::OkStatus();  // Send ran it
  // Statements sent are waited for at the next statement that reads (or Exec, or the commit);
  // the engine keeps a little of each until then, so a long run of sends (an import whose
  // batches read nothing) waits for their results every kMaxUnsyncedSends: its memory stays a
  // constant, whatever the file's size.
  if (++unsynced_sends_ < kMaxUnsyncedSends) return absl::OkStatus();
  unsynced_sends_ = 0;
  ASSIGN_OR_RETURN(Statement * sync, Cached(kSync, "SELECT 1"));
  absl::Status synced = sync->Step().status();
  sync->Reset();
  return synced;
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
  assignments_ = Assignments::kSome;  // AssignedLocalities reads them again
  ASSIGN_OR_RETURN(
      Statement * stmt,
      Cached(kUpsertAssignment,
             "INSERT INTO locality_assignment (ods_code, locality_id) VALUES (?, ?) "
             "ON CONFLICT (ods_code) DO UPDATE SET locality_id = excluded.locality_id"));
  stmt->Bind(1, code).Bind(2, locality_id);
  RETURN_IF_ERROR(stmt->Run());
  return previous;
}

absl::StatusOr<std::optional<LocalityRow>> WriteTx::LoadLocality(const std::string& id) {
  ASSIGN_OR_RETURN(Statement stmt,
                   tx_.Prepare("SELECT id, display_name, cluster_id FROM locality WHERE id = ?"));
  stmt.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::nullopt;
  return LocalityRow{stmt.Text(0), stmt.Text(1), stmt.Text(2)};
}

absl::Status WriteTx::SaveLocality(const LocalityRow& row, bool is_new) {
  ASSIGN_OR_RETURN(Statement stmt,
                   tx_.Prepare("INSERT INTO locality (id, display_name, cluster_id, create_time, "
                               "update_time) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                               "display_name = excluded.display_name, cluster_id = "
                               "excluded.cluster_id, update_time = excluded.update_time"));
  stmt.Bind(1, row.id).Bind(2, row.display_name).Bind(3, row.cluster_id).Bind(4, now_micros_);
  stmt.Bind(5, now_micros_);
  RETURN_IF_ERROR(stmt.Run());
  v1::Change change;
  change.set_kind(v1::Change::KIND_LOCALITY_UPSERTED);
  v1::Locality* locality = change.mutable_locality();
  locality->set_name(absl::StrCat("localities/", row.id));
  locality->set_display_name(row.display_name);
  locality->set_cluster(absl::StrCat("clusters/", row.cluster_id));
  const std::string resource = locality->name();
  ASSIGN_OR_RETURN(int64_t seq, AppendChange(std::move(change), resource));
  Record({seq, v1::Change::KIND_LOCALITY_UPSERTED, resource, "", {}});
  return absl::OkStatus();
}

absl::StatusOr<std::optional<ClusterRow>> WriteTx::LoadCluster(const std::string& id) {
  ASSIGN_OR_RETURN(Statement stmt,
                   tx_.Prepare("SELECT id, display_name FROM cluster WHERE id = ?"));
  stmt.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::nullopt;
  return ClusterRow{stmt.Text(0), stmt.Text(1)};
}

absl::Status WriteTx::SaveCluster(const ClusterRow& row, bool is_new) {
  ASSIGN_OR_RETURN(Statement stmt,
                   tx_.Prepare("INSERT INTO cluster (id, display_name, create_time, update_time) "
                               "VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                               "display_name = excluded.display_name, update_time = "
                               "excluded.update_time"));
  stmt.Bind(1, row.id).Bind(2, row.display_name).Bind(3, now_micros_).Bind(4, now_micros_);
  RETURN_IF_ERROR(stmt.Run());
  v1::Change change;
  change.set_kind(v1::Change::KIND_CLUSTER_UPSERTED);
  v1::Cluster* cluster = change.mutable_cluster();
  cluster->set_name(absl::StrCat("clusters/", row.id));
  cluster->set_display_name(row.display_name);
  const std::string resource = cluster->name();
  ASSIGN_OR_RETURN(int64_t seq, AppendChange(std::move(change), resource));
  Record({seq, v1::Change::KIND_CLUSTER_UPSERTED, resource, "", {}});
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> WriteTx::FindRequest(const std::string& request_id,
                                                                const std::string& method,
                                                                const std::string& request_hash) {
  ASSIGN_OR_RETURN(runtime::storage::IdempotencyRecord record,
                   runtime::storage::IdempotencyRecord::Prepare(tx_));
  return record.Find({request_id, method, actor_, request_hash});
}

absl::Status WriteTx::SaveRequest(const std::string& request_id, const std::string& method,
                                  const std::string& request_hash, const std::string& response) {
  ASSIGN_OR_RETURN(runtime::storage::IdempotencyRecord record,
                   runtime::storage::IdempotencyRecord::Prepare(tx_));
  return record.Store({request_id, method, actor_, request_hash}, response, now_micros_);
}

absl::StatusOr<std::vector<v1::ImportReport::Mismatch>> WriteTx::Mismatches(
    const std::string& commissioner, int limit, int* total) {
  std::vector<v1::ImportReport::Mismatch> mismatches;
  *total = 0;
  {
    ASSIGN_OR_RETURN(Statement any,
                     tx_.Prepare("SELECT 1 FROM practice WHERE list_size IS NOT NULL AND "
                                 "(? = '' OR commissioner = ?) LIMIT 1"));
    any.Bind(1, commissioner).Bind(2, commissioner);
    ASSIGN_OR_RETURN(bool has_list_sizes, any.Step());
    if (!has_list_sizes) return mismatches;
  }
  ASSIGN_OR_RETURN(
      Statement stmt,
      tx_.Prepare("SELECT ods_code, status, prescribing_setting, CASE WHEN list_size IS NOT NULL "
                  "THEN 1 ELSE 0 END FROM practice WHERE (? = '' OR commissioner = ?) AND "
                  "((status != 1 AND list_size IS NOT NULL) OR (status = 1 AND list_size IS NULL))"
                  " ORDER BY ods_code"));
  stmt.Bind(1, commissioner).Bind(2, commissioner);
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    if ((*total)++ >= limit) continue;
    v1::ImportReport::Mismatch& m = mismatches.emplace_back();
    m.set_ods_code(stmt.Text(0));
    m.set_status(static_cast<v1::Practice::Status>(stmt.Int(1)));
    m.set_prescribing_setting(static_cast<int32_t>(stmt.Int(2)));
    m.set_kind(stmt.Int(3) != 0 ? v1::ImportReport::Mismatch::KIND_LIST_SIZE_NOT_ACTIVE
                                : v1::ImportReport::Mismatch::KIND_ACTIVE_WITHOUT_LIST_SIZE);
  }
  return mismatches;
}

}  // namespace dorset::registry
