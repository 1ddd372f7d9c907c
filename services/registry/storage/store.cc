#include "services/registry/storage/store.h"

#include <filesystem>
#include <map>
#include <utility>
#include <variant>

#include "absl/hash/hash.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "registry_migrations.h"
#include "runtime/api/request_id.h"
#include "runtime/base/string_view.h"
#include "runtime/logging/log.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/database.h"
#include "runtime/storage/etag.h"
#include "runtime/storage/idempotency.h"
#include "runtime/storage/open.h"
#include "runtime/storage/postgres/listener.h"
#include "runtime/storage/sqlite/user_version.h"
#include "services/registry/closure_policy.h"
#include "services/registry/storage/legacy_sqlite.h"
#include "services/registry/stored_text.h"
#include "services/registry/text.h"
#include "services/registry/validation.h"

namespace dorset::registry {
namespace {

// The queue every replica's writes wait in on PostgreSQL (Database::WriteQueued): each reads the
// change feed's counter row and appends after it.
constexpr int64_t kFeedWriteQueue = 0x7265676973747279;  // "registry"

using google::protobuf::util::TimeUtil;
using runtime::storage::Database;
using runtime::storage::Engine;
using runtime::storage::Statement;
using runtime::storage::Transaction;

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

// Reads the practice of a row selected as (data, <kPracticeColumns>...) starting at `data`,
// whose data column holds `bytes`. False when it had to be served from its columns.
bool ReadPracticeRow(const Statement& stmt, int data, std::string_view bytes,
                     v1::Practice& practice) {
  if (ParseStored(bytes, practice)) {
    // The revision column is the truth: a row written by an earlier release carries its etag
    // in the message in that release's spelling.
    practice.set_etag(runtime::storage::Etag(stmt.Int(data + 8)));
    return true;
  }
  runtime::log::Error("stored practice unreadable; served from its columns",
                      {{"ods_code", ForReply(stmt.Text(data + 1))}});
  practice = PracticeFromColumns(stmt, data + 1);
  return false;
}

v1::Practice ReadPracticeRow(const Statement& stmt, int data) {
  v1::Practice practice;
  ReadPracticeRow(stmt, data, stmt.Blob(data), practice);
  return practice;
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
  kLoadPractices,
  kLoadAssignments,
  kFindSeen,
  kMarkSeenRows,
  kInsertPractice,
  kSlotCount
};

// `rows` groups of `columns` placeholders: "(?, ?), (?, ?)".
std::string ValuesRows(size_t rows, int columns) {
  std::string group = "(";
  for (int c = 0; c < columns; ++c) absl::StrAppend(&group, c == 0 ? "?" : ", ?");
  group += ")";
  std::string sql;
  sql.reserve(rows * (group.size() + 2));
  for (size_t r = 0; r < rows; ++r) absl::StrAppend(&sql, r == 0 ? "" : ", ", group);
  return sql;
}

// "?, ?, ?": `n` placeholders for an IN list.
std::string InList(size_t n) {
  std::string sql;
  sql.reserve(n * 3);
  for (size_t i = 0; i < n; ++i) sql += i == 0 ? "?" : ", ?";
  return sql;
}

// Runs `fn(first, rows)` over [0, n): chunks of WriteTx::kBatchRows, the rest in powers of two
// (at most log2(kBatchRows) + 1 statement shapes per statement).
absl::Status ForChunks(size_t n, const std::function<absl::Status(size_t, size_t)>& fn) {
  static_assert((WriteTx::kBatchRows & (WriteTx::kBatchRows - 1)) == 0);
  size_t first = 0;
  while (first < n) {
    size_t rows = WriteTx::kBatchRows;
    while (rows > n - first) rows /= 2;
    RETURN_IF_ERROR(fn(first, rows));
    first += rows;
  }
  return absl::OkStatus();
}

// Bloom filters of keys a transaction wrote (WriteTx: import_seen's keys, and the practices of
// the first import): 2^19 bits (64 KiB) and four probes, whatever the file's size. With the
// national extract's 16,534 keys about one in 5,000 is a false "maybe" (then read from the
// table, as every key was before); a larger file only makes it more often wrong, never wrong
// the other way.
constexpr int kKeyFilterProbes = 4;
constexpr uint64_t kKeyFilterBits = uint64_t{1} << 19;
template <typename Fn>
void ForProbes(std::string_view key, Fn fn) {
  const uint64_t hash = absl::HashOf(key);
  const uint64_t step = (hash >> 32) | 1;
  for (int i = 0; i < kKeyFilterProbes; ++i) {
    fn((hash + static_cast<uint64_t>(i) * step) & (kKeyFilterBits - 1));
  }
}
void ResetFilter(std::vector<uint64_t>& filter) { filter.assign(kKeyFilterBits / 64, 0); }
// An empty (not reset) filter may have seen everything.
bool FilterMayHave(const std::vector<uint64_t>& filter, std::string_view key) {
  if (filter.empty()) return true;
  bool all = true;
  ForProbes(key, [&](uint64_t bit) { all = all && (filter[bit / 64] >> (bit % 64)) & 1; });
  return all;
}
void FilterAdd(std::vector<uint64_t>& filter, std::string_view key) {
  if (filter.empty()) return;
  ForProbes(key, [&](uint64_t bit) { filter[bit / 64] |= uint64_t{1} << (bit % 64); });
}

}  // namespace

std::string EtagFor(int64_t revision) { return runtime::storage::Etag(revision); }

// ---- WriteTx ----

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

absl::Status WriteTx::LoadPractices(std::span<const std::string> all_codes,
                                    absl::flat_hash_map<std::string, v1::Practice>& found) {
  // In the first import (DeferIndexesIfEmpty) the table held no practice when it began and no
  // one else can write it: only the codes this transaction may have written can be stored.
  std::vector<std::string> maybe;
  std::span<const std::string> codes = all_codes;
  if (!written_filter_.empty()) {
    for (const std::string& code : all_codes) {
      if (FilterMayHave(written_filter_, code)) maybe.push_back(code);
    }
    codes = maybe;
  }
  return ForChunks(codes.size(), [&](size_t first, size_t rows) -> absl::Status {
    ASSIGN_OR_RETURN(Statement * stmt, CachedRows(kLoadPractices, rows, [](size_t n) {
                       return absl::StrCat(
                           "SELECT ods_code, data, revision FROM practice WHERE ods_code IN (",
                           InList(n), ")");
                     }));
    for (size_t i = 0; i < rows; ++i) stmt->Bind(static_cast<int>(i + 1), codes[first + i]);
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt->Step());
      if (!row) break;
      ASSIGN_OR_RETURN(v1::Practice practice, ParsePractice(stmt->Blob(1)));
      practice.set_etag(EtagFor(stmt->Int(2)));  // the column is the truth (LoadPractice)
      found.insert_or_assign(stmt->Text(0), std::move(practice));
    }
    return absl::OkStatus();
  });
}

absl::Status WriteTx::AssignedLocalities(std::span<const std::string> codes,
                                         absl::flat_hash_map<std::string, std::string>& found) {
  return ForChunks(codes.size(), [&](size_t first, size_t rows) -> absl::Status {
    ASSIGN_OR_RETURN(Statement * stmt, CachedRows(kLoadAssignments, rows, [](size_t n) {
                       return absl::StrCat(
                           "SELECT ods_code, locality_id FROM locality_assignment WHERE ods_code "
                           "IN (",
                           InList(n), ")");
                     }));
    for (size_t i = 0; i < rows; ++i) stmt->Bind(static_cast<int>(i + 1), codes[first + i]);
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt->Step());
      if (!row) break;
      found.insert_or_assign(stmt->Text(0), stmt->Text(1));
    }
    return absl::OkStatus();
  });
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

absl::Status WriteTx::SavePractices(std::span<PracticeSave> saves) {
  practices_written_ = practices_written_ || !saves.empty();
  // Completes each practice as it will be stored.
  std::vector<int64_t> revisions(saves.size());
  for (size_t i = 0; i < saves.size(); ++i) {
    v1::Practice& practice = saves[i].practice;
    const v1::Practice* previous = saves[i].previous;
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
    revisions[i] = revision;
  }

  // New practices go in with a plain INSERT, stored ones with the upsert: PostgreSQL inserts a
  // row under ON CONFLICT speculatively (a token, the key's index checked, then confirmed),
  // which a key known to be absent does not need (LoadPractices read it in this transaction; a
  // row another replica inserted since fails the INSERT, as a conflict, and the write runs
  // again).
  RETURN_IF_ERROR(DeferIndexesIfEmpty(saves.size()));
  for (const PracticeSave& save : saves) FilterAdd(written_filter_, save.practice.ods_code());
  std::vector<size_t> fresh;
  std::vector<size_t> stored;
  for (size_t i = 0; i < saves.size(); ++i) {
    (saves[i].previous == nullptr ? fresh : stored).push_back(i);
  }
  for (const bool is_new : {true, false}) {
    const std::vector<size_t>& which = is_new ? fresh : stored;
    RETURN_IF_ERROR(ForChunks(which.size(), [&](size_t first, size_t rows) -> absl::Status {
      ASSIGN_OR_RETURN(
          Statement * upsert,
          CachedRows(is_new ? kInsertPractice : kUpsertPractice, rows, [is_new](size_t n) {
            return absl::StrCat(
                "INSERT INTO practice (ods_code, display_name, postcode_key, status, "
                "prescribing_setting, commissioner, locality_id, list_size, update_time, "
                "revision, data) VALUES ",
                ValuesRows(n, 11),
                is_new ? ""
                       : " ON CONFLICT (ods_code) DO UPDATE SET display_name = "
                         "excluded.display_name, postcode_key = excluded.postcode_key, status = "
                         "excluded.status, prescribing_setting = excluded.prescribing_setting, "
                         "commissioner = excluded.commissioner, locality_id = "
                         "excluded.locality_id, list_size = excluded.list_size, update_time = "
                         "excluded.update_time, revision = excluded.revision, data = "
                         "excluded.data");
          }));
      int at = 1;
      for (size_t k = first; k < first + rows; ++k, at += 11) {
        const size_t i = which[k];
        const v1::Practice& practice = saves[i].practice;
        const std::optional<std::string> locality_id =
            practice.locality().empty()
                ? std::nullopt
                : std::optional<std::string>(practice.locality().substr(sizeof("localities/") - 1));
        upsert->Bind(at, practice.ods_code())
            .Bind(at + 1, practice.display_name())
            .Bind(at + 2, PostcodeKey(practice.postcode()))
            .Bind(at + 3, static_cast<int64_t>(practice.status()))
            .Bind(at + 4, static_cast<int64_t>(practice.prescribing_setting()))
            .Bind(at + 5, practice.commissioner())
            .Bind(at + 6, locality_id)
            .Bind(at + 7, practice.has_list_size() ? std::optional<int64_t>(practice.list_size())
                                                   : std::nullopt)
            .Bind(at + 8, now_micros_)
            .Bind(at + 9, revisions[i])
            .BindBlob(at + 10, practice.SerializeAsString());
      }
      return Apply(*upsert);
    }));
  }

  // The change feed's rows, numbered in order.
  std::vector<int64_t> sequences(saves.size());
  for (int64_t& seq : sequences) {
    ASSIGN_OR_RETURN(seq, NextSequence());
  }
  RETURN_IF_ERROR(ForChunks(saves.size(), [&](size_t first, size_t rows) -> absl::Status {
    ASSIGN_OR_RETURN(Statement * insert, CachedRows(kInsertChange, rows, [](size_t n) {
                       return absl::StrCat(
                           "INSERT INTO change (seq, kind, resource, commit_time, source, actor, "
                           "payload) VALUES ",
                           ValuesRows(n, 7));
                     }));
    int at = 1;
    for (size_t i = first; i < first + rows; ++i, at += 7) {
      const v1::Practice& practice = saves[i].practice;
      v1::Change change;
      change.set_kind(saves[i].kind);
      for (const std::string& field : saves[i].changed_fields) change.add_changed_fields(field);
      *change.mutable_practice() = practice;
      change.set_resource(practice.name());
      change.set_source(source_);
      *change.mutable_commit_time() = FromMicros(now_micros_);
      insert->Bind(at, sequences[i])
          .Bind(at + 1, static_cast<int64_t>(saves[i].kind))
          .Bind(at + 2, practice.name())
          .Bind(at + 3, now_micros_)
          .Bind(at + 4, source_)
          .Bind(at + 5, actor_)
          .BindBlob(at + 6, change.SerializeAsString());
    }
    return Apply(*insert);
  }));

  RETURN_IF_ERROR(ForChunks(saves.size(), [&](size_t first, size_t rows) -> absl::Status {
    ASSIGN_OR_RETURN(Statement * insert, CachedRows(kInsertRevision, rows, [](size_t n) {
                       return absl::StrCat(
                           "INSERT INTO practice_revision (ods_code, revision, seq) VALUES ",
                           ValuesRows(n, 3));
                     }));
    int at = 1;
    for (size_t i = first; i < first + rows; ++i, at += 3) {
      insert->Bind(at, saves[i].practice.ods_code())
          .Bind(at + 1, revisions[i])
          .Bind(at + 2, sequences[i]);
    }
    return Apply(*insert);
  }));

  for (size_t i = 0; i < saves.size(); ++i) {
    const v1::Practice& practice = saves[i].practice;
    CommittedChange committed{
        sequences[i], saves[i].kind, practice.name(), practice.ods_code(), {}};
    committed.commissioners.push_back(practice.commissioner());
    if (saves[i].previous && saves[i].previous->commissioner() != practice.commissioner()) {
      committed.commissioners.push_back(saves[i].previous->commissioner());
    }
    Record(std::move(committed));
  }
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

absl::Status WriteTx::Apply(Statement& stmt) { return bulk_ ? stmt.Send() : stmt.Run(); }

// ---- The first import (PostgreSQL) ----
//
// Into an empty store, the national import's rows are the whole table, and maintaining
// practice's seven secondary b-tree indexes and the trigram index row by row, and checking
// every revision's foreign key to its change row by row (PostgreSQL looks the change up and
// locks it), cost more than building the indexes once from the rows and checking the key once
// for all (issue 16, bench/README.md). So a bulk write whose first batch of practices is full
// (WriteTx::kBatchRows rows) into a store without practices or revisions drops those indexes
// and the foreign key in its transaction, and recreates them, exactly as the catalog defined
// them, before it commits (RestoreDeferred): the key is validated over every revision then,
// so a revision without its change fails the write as before. DDL is transactional here: a
// rollback (an error, validate_only, a retry) restores them untouched. The cost: the
// transaction holds practice, practice_revision and change exclusively until it commits, so
// readers of the new store wait for the first import instead of reading the empty store. Only
// when the store's role owns the tables (it made them); otherwise the rows go in as always.
absl::Status WriteTx::DeferIndexesIfEmpty(size_t rows) {
  if (empty_load_checked_ || !bulk_ || tx_.engine() != Engine::kPostgres) return absl::OkStatus();
  empty_load_checked_ = true;
  if (rows < kBatchRows) return absl::OkStatus();
  {
    ASSIGN_OR_RETURN(Statement empty,
                     tx_.Prepare("SELECT (NOT EXISTS (SELECT 1 FROM practice) AND NOT EXISTS "
                                 "(SELECT 1 FROM practice_revision) AND pg_has_role((SELECT "
                                 "relowner FROM pg_class WHERE oid = 'practice'::regclass), "
                                 "'USAGE') AND pg_has_role((SELECT relowner FROM pg_class WHERE "
                                 "oid = 'practice_revision'::regclass), 'USAGE'))::int"));
    ASSIGN_OR_RETURN(bool row, empty.Step());
    if (!row || empty.Int(0) == 0) return absl::OkStatus();
  }
  std::vector<std::string> drop;
  ASSIGN_OR_RETURN(
      Statement defs,
      tx_.Prepare("SELECT format('DROP INDEX %I.%I', n.nspname, i.relname), "
                  "pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = "
                  "x.indexrelid JOIN pg_namespace n ON n.oid = i.relnamespace WHERE x.indrelid = "
                  "'practice'::regclass AND NOT x.indisunique AND NOT x.indisprimary UNION ALL "
                  "SELECT format('ALTER TABLE practice_revision DROP CONSTRAINT %I', conname), "
                  "format('ALTER TABLE practice_revision ADD CONSTRAINT %I ', conname) || "
                  "pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = "
                  "'practice_revision'::regclass AND contype = 'f'"));
  while (true) {
    ASSIGN_OR_RETURN(bool row, defs.Step());
    if (!row) break;
    drop.push_back(defs.Text(0));
    restore_.push_back(defs.Text(1));
  }
  for (const std::string& sql : drop) RETURN_IF_ERROR(tx_.Exec(sql));
  // practice is empty and held exclusively (DROP INDEX locks it): from here LoadPractices reads
  // only codes this transaction may have written.
  ResetFilter(written_filter_);
  return absl::OkStatus();
}

absl::Status WriteTx::RestoreDeferred() {
  for (const std::string& sql : restore_) RETURN_IF_ERROR(tx_.Exec(sql));
  restore_.clear();
  return absl::OkStatus();
}

absl::Status WriteTx::BeginBulk() {
  bulk_ = true;
  if (tx_.engine() != Engine::kSqlite || name_index_deferred_) return absl::OkStatus();
  RETURN_IF_ERROR(
      tx_.Exec("INSERT INTO practice_search_deferred (id) VALUES (1) "
               "ON CONFLICT (id) DO NOTHING"));
  name_index_deferred_ = true;
  return absl::OkStatus();
}

absl::Status WriteTx::FinishNameIndex() {
  if (!name_index_deferred_) return absl::OkStatus();
  name_index_deferred_ = false;
  RETURN_IF_ERROR(tx_.Exec("DELETE FROM practice_search_deferred"));
  // A renamed practice's old entry goes first; a new practice has none.
  RETURN_IF_ERROR(
      tx_.Exec("DELETE FROM practice_search WHERE rowid IN (SELECT r.id FROM "
               "practice_search_pending q JOIN practice_search_row r ON r.ods_code = q.ods_code)"));
  RETURN_IF_ERROR(
      tx_.Exec("INSERT INTO practice_search (rowid, name) SELECT r.id, LOWER(p.display_name) FROM "
               "practice_search_pending q JOIN practice_search_row r ON r.ods_code = q.ods_code "
               "JOIN practice p ON p.ods_code = q.ods_code"));
  return tx_.Exec("DELETE FROM practice_search_pending");
}

absl::Status WriteTx::ResetSeen() {
  RETURN_IF_ERROR(tx_.Exec("DELETE FROM import_seen"));
  ResetFilter(seen_filter_);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<WriteTx::Seen>> WriteTx::SeeOnce(const std::string& key, int line,
                                                              const std::string& value) {
  // Insert first: the common case (a key not seen before) costs one statement.
  ASSIGN_OR_RETURN(Statement * mark, Cached(kMarkSeen,
                                            "INSERT INTO import_seen (key, line, value) "
                                            "VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING"));
  mark->Bind(1, key).Bind(2, static_cast<int64_t>(line)).Bind(3, value);
  FilterAdd(seen_filter_, key);
  RETURN_IF_ERROR(mark->Run());
  if (mark->Changes() == 1) return std::nullopt;
  ASSIGN_OR_RETURN(Statement * find,
                   Cached(kSeeOnce, "SELECT line, value FROM import_seen WHERE key = ?"));
  find->Bind(1, key);
  ASSIGN_OR_RETURN(bool row, find->Step());
  if (!row) return runtime::Internal("import scratch row vanished");
  return Seen{static_cast<int>(find->Int(0)), find->Text(1)};
}

absl::StatusOr<std::vector<std::optional<WriteTx::Seen>>> WriteTx::SeeEachOnce(
    std::span<const std::pair<std::string, int>> keys) {
  std::vector<std::optional<Seen>> seen(keys.size());
  absl::flat_hash_map<std::string, size_t> index;  // key -> position in `keys`
  for (size_t i = 0; i < keys.size(); ++i) index.emplace(keys[i].first, i);
  // The earlier sightings first (rare: a key repeated across batches), read only for the keys
  // the filter may have seen (all of them when it is not valid), then the new ones recorded: no
  // conflict is possible, the writer holds the transaction. Reading every key cost PostgreSQL
  // a scan of the table per batch (its generic plan for the 256-key IN list, planned while the
  // table was empty): 73 ms of the national import, and a round trip per batch (issue 16).
  std::vector<size_t> maybe;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (FilterMayHave(seen_filter_, keys[i].first)) maybe.push_back(i);
  }
  RETURN_IF_ERROR(ForChunks(maybe.size(), [&](size_t first, size_t rows) -> absl::Status {
    ASSIGN_OR_RETURN(Statement * find, CachedRows(kFindSeen, rows, [](size_t n) {
                       return absl::StrCat(
                           "SELECT key, line, value FROM import_seen WHERE key IN (", InList(n),
                           ")");
                     }));
    for (size_t i = 0; i < rows; ++i) {
      find->Bind(static_cast<int>(i + 1), keys[maybe[first + i]].first);
    }
    while (true) {
      ASSIGN_OR_RETURN(bool row, find->Step());
      if (!row) break;
      auto it = index.find(find->Text(0));
      if (it == index.end()) return runtime::Internal("import scratch row not asked for");
      seen[it->second] = Seen{static_cast<int>(find->Int(1)), find->Text(2)};
    }
    return absl::OkStatus();
  }));
  std::vector<size_t> unseen;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!seen[i]) unseen.push_back(i);
  }
  RETURN_IF_ERROR(ForChunks(unseen.size(), [&](size_t first, size_t rows) -> absl::Status {
    ASSIGN_OR_RETURN(Statement * mark, CachedRows(kMarkSeenRows, rows, [](size_t n) {
                       return absl::StrCat("INSERT INTO import_seen (key, line, value) VALUES ",
                                           ValuesRows(n, 3));
                     }));
    int at = 1;
    for (size_t i = first; i < first + rows; ++i, at += 3) {
      const auto& [key, line] = keys[unseen[i]];
      mark->Bind(at, key).Bind(at + 1, static_cast<int64_t>(line)).Bind(at + 2, "");
      FilterAdd(seen_filter_, key);
    }
    return Apply(*mark);
  }));
  return seen;
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

// ---- Store ----

Store::Store(std::unique_ptr<Database> db, std::string data_dir)
    : db_(std::move(db)), data_dir_(std::move(data_dir)) {}
Store::~Store() {
  {
    absl::MutexLock lock(&analyze_mu_);
    analyze_wanted_ = false;  // a statistics refresh not started yet is not needed any more
  }
  if (analyzer_.joinable()) analyzer_.join();
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const runtime::ServerConfig& config) {
  std::string password;
  if (!config.database_password_file.empty()) {
    ASSIGN_OR_RETURN(password, runtime::storage::ReadPasswordFile(config.database_password_file));
  }
  return Open(config.database, config.data_dir, password);
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& database,
                                                   const std::string& data_dir,
                                                   const std::string& password) {
  namespace storage = runtime::storage;
  ASSIGN_OR_RETURN(storage::DatabaseUrl url,
                   storage::ParseDatabaseUrl(database, data_dir, "registry"));
  if (url.kind == storage::DatabaseUrl::Kind::kSqlite) {
    // A registry.db of an earlier release: its own steps up to 4 (with the text repair), then
    // its PRAGMA user_version carried over as lane steps.
    RETURN_IF_ERROR(UpgradePreLaneStore(url.sqlite_path));
    RETURN_IF_ERROR(storage::AdoptUserVersion(
        url.sqlite_path, migrations::RegistryMigrations(storage::Engine::kSqlite)));
  }
  ASSIGN_OR_RETURN(
      std::unique_ptr<Database> db,
      storage::OpenDatabase(url, {.password = password}, migrations::RegistryMigrations));
  std::string dir = data_dir;
  if (dir.empty() && url.kind == storage::DatabaseUrl::Kind::kSqlite) {
    dir = std::filesystem::path(url.sqlite_path).parent_path().string();
  }
  std::unique_ptr<Store> store(new Store(std::move(db), dir.empty() ? "." : dir));
  if (url.kind == storage::DatabaseUrl::Kind::kPostgres) {
    store->postgres_uri_ = url.postgres_uri;
    store->password_ = password;
  }
  return store;
}

namespace {

// The change signal over PostgreSQL LISTEN/NOTIFY.
class ListenerSignal : public ChangeSignal {
 public:
  ListenerSignal(const std::string& uri, const std::string& password, const char* channel)
      : listener_(uri, password, channel) {}
  absl::StatusOr<bool> Wait(absl::Duration timeout) override { return listener_.Wait(timeout); }

 private:
  runtime::storage::PostgresListener listener_;
};

}  // namespace

std::unique_ptr<ChangeSignal> Store::ListenForChanges() const {
  if (postgres_uri_.empty()) return nullptr;
  return std::make_unique<ListenerSignal>(postgres_uri_, password_, kChangesChannel);
}

absl::StatusOr<std::unique_ptr<Store>> Store::OpenFile(const std::string& path) {
  return Open(absl::StrCat("sqlite://", path), "", "");
}

absl::StatusOr<std::vector<CommittedChange>> Store::Write(
    const std::string& source, const std::string& actor,
    const std::function<absl::Status(WriteTx&)>& fn) {
  absl::MutexLock lock(&write_mu_);
  std::vector<CommittedChange> changes;
  int64_t change_count = 0;
  // Every write reads the feed's counter row and appends after it: on PostgreSQL the writes of
  // all replicas queue for it (WriteQueued) instead of colliding under SERIALIZABLE and being
  // rolled back, which under load could exhaust the retries and fail an acknowledged-looking
  // write with ABORTED.
  RETURN_IF_ERROR(db_->WriteQueued(kFeedWriteQueue, [&](Transaction& tx) -> absl::Status {
    WriteTx write(tx, source, actor);  // afresh on every attempt
    RETURN_IF_ERROR(fn(write));
    RETURN_IF_ERROR(write.RestoreDeferred());
    RETURN_IF_ERROR(write.FinishNameIndex());
    RETURN_IF_ERROR(write.FinishSequences());
    changes = write.changes();
    change_count = write.change_count();
    return absl::OkStatus();
  }));
  // After a bulk write (an import) PostgreSQL's planner would go on with the statistics of
  // before (none, on a new store) until autovacuum's next ANALYZE, up to a minute or more: it
  // then reads every practice in key order for a postcode or name search that its indexes
  // serve in microseconds. So such a write refreshes them itself, beside its reply rather than
  // before it (the national import's ANALYZE took ~0.1-0.2 s of a ~1.5 s import, issue 16).
  if (db_->engine() == Engine::kPostgres && change_count >= kAnalyzeAfterChanges) AnalyzeSoon();
  return changes;
}

void Store::AnalyzeSoon() {
  absl::MutexLock lock(&analyze_mu_);
  analyze_wanted_ = true;
  if (analyze_running_) return;  // it runs once more when done
  analyze_running_ = true;
  if (analyzer_.joinable()) {
    std::thread done = std::move(analyzer_);  // has returned (analyze_running_ was false)
    analyze_mu_.Unlock();
    done.join();
    analyze_mu_.Lock();
  }
  analyzer_ = std::thread([this] {
    while (true) {
      {
        absl::MutexLock lock(&analyze_mu_);
        if (!analyze_wanted_) {
          analyze_running_ = false;
          return;
        }
        analyze_wanted_ = false;
      }
      // The write has committed: a failure here costs only speed, so it is logged.
      if (absl::Status analyzed =
              db_->Write([](Transaction& tx) { return tx.Exec("ANALYZE practice"); });
          !analyzed.ok()) {
        runtime::log::Warn("ANALYZE practice after a bulk write failed",
                           {{"error", std::string(analyzed.message())}});
      }
    }
  });
}

absl::Status Store::Check() { return db_->Health(); }

std::string Store::Describe() const { return db_->Describe(); }

absl::StatusOr<std::optional<v1::Practice>> Store::GetPractice(const std::string& code) {
  std::optional<v1::Practice> practice;
  RETURN_IF_ERROR(db_->Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(Statement stmt, tx.Prepare(absl::StrCat("SELECT data, ", kPracticeColumns,
                                                             " FROM practice WHERE ods_code = ?")));
    stmt.Bind(1, code);
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (row) practice = ReadPracticeRow(stmt, 0);
    return absl::OkStatus();
  }));
  return practice;
}

namespace {

// The SQL of a practice query: WHERE clause (with ? binds) and the sort expression.
struct QuerySql {
  std::string where;
  std::vector<std::variant<std::string, int64_t>> binds;
  std::string sort;
  bool sort_is_text = true;
};

// ---- Name search ----
//
// name_contains and name_prefix keep their meaning from before the index: ASCII
// case-insensitive `LOWER(display_name) LIKE '%text%'` (or 'text%'), on both engines. What
// changes is how the rows are found (issue 16):
// - SQLite: the FTS5 trigram index practice_search (migrations 7 and 8, kept by triggers on
//   practice in the writer's transaction) holds LOWER(display_name) and matches
//   case-sensitively, so the text, ASCII-lowered, as one phrase of trigrams matches exactly the
//   names LIKE matches (both read UTF-8 characters; stored names are valid UTF-8, "Text and
//   encodings" in docs/registry.md). name_contains is served by it alone, without reading the
//   practices' names again (that read was most of the cost of a common word); name_prefix by
//   it and the LIKE on the rows it finds.
// - PostgreSQL: the pg_trgm GIN index practice_by_name_trigram (migrations 3, 4) is on exactly
//   LOWER(display_name), so the planner serves the same LIKE from it and rechecks every row.
// Order, keyset paging and total_size come from the same WHERE clause, hence are unchanged.
// A text of fewer than three characters has no trigram to look up: it is served by the scan
// (on PostgreSQL by keeping the planner off the index, where a GIN scan without trigrams
// would read the whole index). PracticeQuery::Plan::kScan asks for the scan always (tests).
constexpr size_t kTrigram = 3;

size_t CodePoints(std::string_view text) {
  size_t n = 0;
  for (char c : text) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

bool UseNameIndex(const PracticeQuery& q, std::string_view text) {
  return q.plan == PracticeQuery::Plan::kIndexed && CodePoints(text) >= kTrigram &&
         text.find('\0') == std::string_view::npos;
}

void AddNameFilter(const PracticeQuery& q, Engine engine, std::string_view text, bool prefix,
                   bool name_index, std::vector<std::string>& conditions,
                   std::vector<std::variant<std::string, int64_t>>& binds) {
  const bool indexed = name_index && UseNameIndex(q, text);
  std::string lowered;  // ASCII only, as SQLite's LOWER and LIKE fold
  for (char c : text) lowered.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
  if (engine == Engine::kSqlite && indexed) {
    // One FTS5 phrase: the text quoted, its double quotes doubled. The index holds
    // LOWER(display_name), matched case-sensitively: exactly the names containing the text.
    std::string phrase = "\"";
    for (char c : lowered) {
      if (c == '"') phrase.push_back('"');
      phrase.push_back(c);
    }
    phrase.push_back('"');
    conditions.push_back(
        "ods_code IN (SELECT r.ods_code FROM practice_search s JOIN practice_search_row r "
        "ON r.id = s.rowid WHERE practice_search MATCH ?)");
    binds.emplace_back(std::move(phrase));
    if (!prefix) return;  // a prefix is also contained: the LIKE below keeps the starts only
  }
  if (engine == Engine::kSqlite && !prefix && q.plan == PracticeQuery::Plan::kIndexed &&
      text.find('\0') == std::string_view::npos) {
    // The walk's test of each row (ListPracticeRows): the same rows as the LIKE below, whose
    // folding is ASCII only, as LOWER's, so on the lowered name and the lowered text it is a
    // plain substring test. SQLite prepares a statement again whenever a LIKE's pattern is
    // bound anew (for the LIKE optimisation), which was 12 % of a common word's page (issue 16).
    conditions.push_back("instr(LOWER(display_name), ?) > 0");
    binds.emplace_back(std::move(lowered));
    return;
  }
  // Case-insensitive (ASCII) on both engines: SQLite's LIKE is, PostgreSQL's is not.
  std::string pattern = prefix ? "" : "%";
  for (char c : lowered) {
    if (c == '%' || c == '_' || c == '\\') pattern.push_back('\\');
    pattern.push_back(c);
  }
  pattern.push_back('%');
  // `|| ''` leaves the value as it is but is not the indexed expression (collation "C" is kept).
  conditions.push_back(engine == Engine::kPostgres && !indexed
                           ? "LOWER(display_name || '') LIKE ? ESCAPE '\\'"
                           : "LOWER(display_name) LIKE ? ESCAPE '\\'");
  binds.emplace_back(std::move(pattern));
}

// `name_index` false: the name filters as LIKE alone (the walk of ListPractices' pages).
QuerySql BuildQuery(const PracticeQuery& q, Engine engine, bool name_index = true) {
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
    AddNameFilter(q, engine, q.name_contains, /*prefix=*/false, name_index, conditions, sql.binds);
  }
  if (!q.name_prefix.empty()) {
    AddNameFilter(q, engine, q.name_prefix, /*prefix=*/true, name_index, conditions, sql.binds);
  }
  if (q.update_micros_since.has_value()) {
    conditions.push_back("update_time >= ?");
    sql.binds.emplace_back(*q.update_micros_since);
  }
  if (q.update_micros_before.has_value()) {
    conditions.push_back("update_time < ?");
    sql.binds.emplace_back(*q.update_micros_before);
  }
  if (!q.postcode_prefix_key.empty()) {
    // A range on the index practice_by_postcode instead of LIKE (which would not use it);
    // kScan compares a copy of the value instead, which no index serves (tests).
    conditions.push_back(q.plan == PracticeQuery::Plan::kScan
                             ? "(postcode_key || '') >= ? AND (postcode_key || '') < ?"
                             : "postcode_key >= ? AND postcode_key < ?");
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
  sql.where = conditions.empty() ? "1 = 1" : absl::StrJoin(conditions, " AND ");
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

// ---- Pages of practices (issue 16) ----
//
// A page costs two things: total_size, which counts every practice the filters match, and the
// page's rows. What made a common word (say "surgery", 3,135 of 16,534 names) slow was both:
// the count read every match through the index, and so did the page, because SQLite served
// `ods_code IN (<index matches>)` by listing every match before walking its ORDER BY. Now:
// - The count is kept per data version (ListMemo): exact, computed once per version of the
//   data and query, not per call (nor per page of the same query).
// - No match: no page to read.
// - On SQLite, a name filter's page walks the ORDER BY testing each row with the LIKE, the
//   scan's own filter, when that is cheaper than listing the index's matches: when SQLite walks
//   the order without a temporary sort (EXPLAIN QUERY PLAN, kept per SQL text) and the walk,
//   expected to read (limit + 1) * rows in scope / matches rows (rows in scope: those the other
//   filters keep, counted once per version as well), reads at most half as many rows as there
//   are matches. A rare word keeps the index. Either way the WHERE clause means the same rows,
//   so pages, cursors and totals are the scan's (NameSearchTest compares them).
// PostgreSQL chooses its own plan (with the statistics Store::Write refreshes after an import).
// PracticeQuery::Plan::kScan keeps everything as it was before the index: tests compare with it.

using Binds = std::vector<std::variant<std::string, int64_t>>;

// A count's memo key: the WHERE text and its values, unambiguous.
std::string CountKey(const std::string& where, const Binds& binds) {
  std::string key = where;
  for (const auto& b : binds) {
    if (std::holds_alternative<std::string>(b)) {
      const std::string& text = std::get<std::string>(b);
      absl::StrAppend(&key, "\x1fs", text.size(), ":", text);
    } else {
      absl::StrAppend(&key, "\x1fi", std::get<int64_t>(b));
    }
  }
  return key;
}

// The data's version in this snapshot: the change feed's last sequence.
absl::StatusOr<int64_t> DataVersion(Transaction& tx) {
  ASSIGN_OR_RETURN(Statement stmt, tx.Prepare("SELECT last_seq FROM change_sequence WHERE id = 1"));
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return runtime::Internal("the change counter row is missing");
  return stmt.Int(0);
}

// COUNT(*) of `where`, from the memo when `version` is known (>= 0).
absl::StatusOr<int64_t> CountWhere(Transaction& tx, ListMemo& memo, const std::string& where,
                                   const Binds& binds, int64_t version) {
  std::string key;
  if (version >= 0) {
    key = CountKey(where, binds);
    if (std::optional<int64_t> kept = memo.Count(key, version)) return *kept;
  }
  ASSIGN_OR_RETURN(Statement count,
                   tx.Prepare(absl::StrCat("SELECT COUNT(*) FROM practice WHERE ", where)));
  BindAll(count, binds);
  ASSIGN_OR_RETURN(bool row, count.Step());
  const int64_t total = row ? count.Int(0) : 0;
  if (version >= 0) memo.KeepCount(key, version, total);
  return total;
}

// Whether SQLite sorts the rows of `select` itself (a temporary B-tree) rather than walking an
// index in the order asked.
absl::StatusOr<bool> SqliteSorts(Transaction& tx, ListMemo& memo, const std::string& select) {
  if (std::optional<bool> kept = memo.Sorts(select)) return *kept;
  ASSIGN_OR_RETURN(Statement plan, tx.Prepare(absl::StrCat("EXPLAIN QUERY PLAN ", select)));
  bool sorts = false;
  while (true) {
    ASSIGN_OR_RETURN(bool row, plan.Step());
    if (!row) break;
    if (absl::StrContains(plan.Text(3), "TEMP B-TREE")) sorts = true;
  }
  memo.KeepSorts(select, sorts);
  return sorts;
}

// The SELECT of one page over `sql`, with the keyset position and `binds` (extended here).
std::string PageSelect(const PracticeQuery& query, const QuerySql& sql,
                       const std::optional<PracticeCursor>& after, Binds& binds) {
  const char* dir = query.descending ? "DESC" : "ASC";
  const char* cmp = query.descending ? "<" : ">";
  std::string keyset;
  binds = sql.binds;
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
  return query.order == PracticeQuery::Order::kOdsCode
             ? absl::StrCat("SELECT ods_code, data, ", kPracticeColumns, " FROM practice WHERE ",
                            sql.where, keyset, " ORDER BY ods_code ", dir, " LIMIT ?")
             : absl::StrCat("SELECT ", sql.sort, ", data, ", kPracticeColumns,
                            " FROM practice WHERE ", sql.where, keyset, " ORDER BY ", sql.sort, " ",
                            dir, ", ods_code ", dir, " LIMIT ?");
}

bool HasIndexedName(const PracticeQuery& q) {
  return (!q.name_contains.empty() && UseNameIndex(q, q.name_contains)) ||
         (!q.name_prefix.empty() && UseNameIndex(q, q.name_prefix));
}

// Whether this page of a name search on SQLite is cheaper walked (see above).
absl::StatusOr<bool> WalkNamePage(Transaction& tx, ListMemo& memo, const PracticeQuery& query,
                                  int64_t matches, int limit, int64_t version,
                                  const std::string& walk_select) {
  PracticeQuery others = query;
  others.name_contains.clear();
  others.name_prefix.clear();
  const QuerySql scope_sql = BuildQuery(others, Engine::kSqlite);
  ASSIGN_OR_RETURN(int64_t scope, CountWhere(tx, memo, scope_sql.where, scope_sql.binds, version));
  // Expected rows walked <= matches / 2, in integers: 2 * (limit + 1) * scope <= matches^2.
  const double walked = 2.0 * (static_cast<double>(limit) + 1) * static_cast<double>(scope);
  if (walked > static_cast<double>(matches) * static_cast<double>(matches)) return false;
  ASSIGN_OR_RETURN(bool sorts, SqliteSorts(tx, memo, walk_select));
  return !sorts;
}

}  // namespace

absl::Status Store::ListPracticeRows(const PracticeQuery& query,
                                     const std::optional<PracticeCursor>& after, int limit,
                                     absl::FunctionRef<void()> start,
                                     absl::FunctionRef<void(const Statement&)> row,
                                     std::optional<PracticeCursor>& last, int& total_size) {
  const Engine engine = db_->engine();
  const bool memo = query.plan == PracticeQuery::Plan::kIndexed;
  const QuerySql sql = BuildQuery(query, engine);
  const bool may_walk = memo && engine == Engine::kSqlite && HasIndexedName(query);
  return db_->Read([&](Transaction& tx) -> absl::Status {
    start();
    last.reset();
    total_size = 0;
    int64_t version = -1;  // unknown: nothing from the memo
    if (memo) {
      ASSIGN_OR_RETURN(version, DataVersion(tx));
    }
    ASSIGN_OR_RETURN(int64_t total, CountWhere(tx, list_memo_, sql.where, sql.binds, version));
    total_size = static_cast<int>(total);
    if (memo && total == 0) return absl::OkStatus();

    Binds binds;
    std::string select = PageSelect(query, sql, after, binds);
    if (may_walk) {
      const QuerySql walk_sql = BuildQuery(query, engine, /*name_index=*/false);
      Binds walk_binds;
      std::string walk_select = PageSelect(query, walk_sql, after, walk_binds);
      ASSIGN_OR_RETURN(bool walk,
                       WalkNamePage(tx, list_memo_, query, total, limit, version, walk_select));
      if (walk) {
        select = std::move(walk_select);
        binds = std::move(walk_binds);
      }
    }
    ASSIGN_OR_RETURN(Statement stmt, tx.Prepare(select));
    BindAll(stmt, binds);
    stmt.Bind(static_cast<int>(binds.size()) + 1, static_cast<int64_t>(limit + 1));
    PracticeCursor cursor;
    int rows = 0;
    while (true) {
      ASSIGN_OR_RETURN(bool more, stmt.Step());
      if (!more) break;
      if (rows == limit) {
        last = cursor;  // there is at least one more row
        break;
      }
      row(stmt);
      ++rows;
      cursor.ods_code = stmt.Text(2);  // the stored key, exactly as the keyset compares it
      if (sql.sort_is_text) {
        cursor.text = stmt.Text(0);
      } else {
        cursor.number = stmt.Int(0);
      }
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<PracticePage> Store::ListPractices(const PracticeQuery& query,
                                                  const std::optional<PracticeCursor>& after,
                                                  int limit) {
  PracticePage page;
  RETURN_IF_ERROR(ListPracticeRows(
      query, after, limit, [&] { page.practices.clear(); },
      [&](const Statement& stmt) { page.practices.push_back(ReadPracticeRow(stmt, 1)); }, page.last,
      page.total_size));
  return page;
}

absl::StatusOr<PracticeBytesPage> Store::ListPracticeBytes(
    const PracticeQuery& query, const std::optional<PracticeCursor>& after, int limit, int field) {
  PracticeBytesPage page;
  RETURN_IF_ERROR(ListPracticeRows(
      query, after, limit,
      [&] {
        page.practices.clear();
        page.size = 0;
      },
      [&](const Statement& stmt) {
        ++page.size;
        const std::string data = stmt.Blob(1);
        const std::string code = stmt.Text(2);
        const int64_t revision = stmt.Int(9);
        if (practice_bytes_.AppendField(code, data, revision, field, &page.practices)) return;
        v1::Practice practice;
        const bool readable = ReadPracticeRow(stmt, 1, data, practice);
        std::string bytes = practice.SerializeAsString();
        wire::AppendBytesField(field, bytes, &page.practices);
        if (readable) practice_bytes_.Keep(code, data, revision, std::move(bytes));
      },
      page.last, page.total_size));
  return page;
}

absl::StatusOr<std::vector<v1::PracticeRevision>> Store::ListRevisions(const std::string& code,
                                                                       int64_t before_revision,
                                                                       int limit) {
  std::vector<v1::PracticeRevision> revisions;
  RETURN_IF_ERROR(db_->Read([&](Transaction& tx) -> absl::Status {
    revisions.clear();
    ASSIGN_OR_RETURN(
        Statement stmt,
        tx.Prepare("SELECT r.revision, r.seq, c.kind, c.payload, c.commit_time, c.actor "
                   "FROM practice_revision r JOIN change c ON c.seq = r.seq "
                   "WHERE r.ods_code = ? AND r.revision < ? ORDER BY r.revision DESC "
                   "LIMIT ?"));
    stmt.Bind(1, code).Bind(2, before_revision).Bind(3, static_cast<int64_t>(limit));
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
    return absl::OkStatus();
  }));
  return revisions;
}

namespace {

// Reads every practice (one query) for the population figures (population.h). The message is
// parsed only where its unindexed fields matter: list-size date (practices with a list size),
// successor and close date (closed practices, which may be links of a successor chain).
absl::StatusOr<Populations> LoadPopulations(Transaction& tx) {
  std::map<std::string, PracticeFacts> practices;
  ASSIGN_OR_RETURN(Statement stmt,
                   tx.Prepare("SELECT ods_code, status, COALESCE(locality_id, ''), commissioner, "
                              "prescribing_setting, list_size, CASE WHEN list_size IS NOT NULL OR "
                              "status = 2 THEN data END FROM practice"));
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    PracticeFacts& f = practices[stmt.Text(0)];
    f.status = static_cast<v1::Practice::Status>(stmt.Int(1));
    f.locality_id = stmt.Text(2);
    f.commissioner = stmt.Text(3);
    f.prescribing_setting = static_cast<int>(stmt.Int(4));
    f.list_size = stmt.OptionalInt(5);
    if (!stmt.IsNull(6)) {
      v1::Practice practice;
      if (!ParseStored(stmt.Blob(6), practice)) {
        // Read paths never fail on one row: its list counts where it is, without a date.
        runtime::log::Error("stored practice unreadable; population without its successor",
                            {{"ods_code", stmt.Text(0)}});
      }
      f.list_size_date = practice.list_size_date();
      if (!practice.successor().empty()) {
        f.successor_code = practice.successor().substr(sizeof("practices/") - 1);
      }
      f.close_date = practice.close_date();
    }
  }
  return Populations::Build(std::move(practices));
}

absl::StatusOr<std::vector<v1::Locality>> LocalitiesOn(Transaction& tx,
                                                       const std::string& cluster_id,
                                                       const Populations& populations) {
  ASSIGN_OR_RETURN(Statement stmt,
                   tx.Prepare("SELECT l.id, l.display_name, l.cluster_id, "
                              "COALESCE(SUM(CASE WHEN p.status = 1 THEN 1 ELSE 0 END), 0), "
                              "COUNT(p.ods_code) "
                              "FROM locality l LEFT JOIN practice p ON p.locality_id = l.id "
                              "WHERE ? = '' OR l.cluster_id = ? GROUP BY l.id ORDER BY l.id"));
  stmt.Bind(1, cluster_id).Bind(2, cluster_id);
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

absl::StatusOr<std::vector<v1::Cluster>> ClustersOn(Transaction& tx,
                                                    const Populations& populations) {
  ASSIGN_OR_RETURN(std::vector<v1::Locality> localities, LocalitiesOn(tx, "", populations));
  std::map<std::string, PopulationFigures> figures;
  ASSIGN_OR_RETURN(Statement stmt, tx.Prepare("SELECT id, display_name FROM cluster ORDER BY id"));
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

}  // namespace

absl::StatusOr<std::vector<v1::Locality>> Store::Localities(const std::string& cluster_id) {
  std::vector<v1::Locality> localities;
  RETURN_IF_ERROR(db_->Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(Populations populations, LoadPopulations(tx));
    ASSIGN_OR_RETURN(localities, LocalitiesOn(tx, cluster_id, populations));
    return absl::OkStatus();
  }));
  return localities;
}

absl::StatusOr<std::vector<v1::Cluster>> Store::Clusters() {
  std::vector<v1::Cluster> clusters;
  RETURN_IF_ERROR(db_->Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(Populations populations, LoadPopulations(tx));
    ASSIGN_OR_RETURN(clusters, ClustersOn(tx, populations));
    return absl::OkStatus();
  }));
  return clusters;
}

namespace {
absl::StatusOr<bool> Exists(Database& db, std::string_view sql, const std::string& id) {
  bool found = false;
  RETURN_IF_ERROR(db.Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(Statement stmt, tx.Prepare(sql));
    stmt.Bind(1, id);
    ASSIGN_OR_RETURN(found, stmt.Step());
    return absl::OkStatus();
  }));
  return found;
}

absl::StatusOr<std::vector<std::string>> Ids(Database& db, std::string_view sql) {
  std::vector<std::string> ids;
  RETURN_IF_ERROR(db.Read([&](Transaction& tx) -> absl::Status {
    ids.clear();
    ASSIGN_OR_RETURN(Statement stmt, tx.Prepare(sql));
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      ids.push_back(stmt.Text(0));
    }
    return absl::OkStatus();
  }));
  return ids;
}
}  // namespace

absl::StatusOr<bool> Store::LocalityExists(const std::string& id) {
  return Exists(*db_, "SELECT 1 FROM locality WHERE id = ?", id);
}

absl::StatusOr<bool> Store::ClusterExists(const std::string& id) {
  return Exists(*db_, "SELECT 1 FROM cluster WHERE id = ?", id);
}

absl::StatusOr<std::vector<std::string>> Store::LocalityIds() {
  return Ids(*db_, "SELECT id FROM locality ORDER BY id");
}

absl::StatusOr<std::vector<std::string>> Store::ClusterIds() {
  return Ids(*db_, "SELECT id FROM cluster ORDER BY id");
}

absl::StatusOr<v1::AreaSummary> Store::Summary(const std::string& commissioner, bool* found) {
  v1::AreaSummary summary;
  RETURN_IF_ERROR(db_->Read([&](Transaction& db) -> absl::Status {
    summary.Clear();
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
          db.Prepare("SELECT COALESCE(SUM(CASE WHEN status = 1 AND prescribing_setting = 4 THEN 1 "
                     "ELSE 0 END), 0), COALESCE(SUM(CASE WHEN locality_id IS NULL THEN 1 ELSE 0 "
                     "END), 0) FROM practice WHERE commissioner = ?"));
      stmt.Bind(1, commissioner);
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (row) {
        summary.set_active_gp_practice_count(static_cast<int32_t>(stmt.Int(0)));
        summary.set_unassigned_practice_count(static_cast<int32_t>(stmt.Int(1)));
      }
    }
    ASSIGN_OR_RETURN(Populations populations, LoadPopulations(db));
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
    return absl::OkStatus();
  }));
  return summary;
}

absl::StatusOr<std::vector<v1::Change>> Store::ChangesAfter(int64_t after, int limit) {
  std::vector<v1::Change> changes;
  RETURN_IF_ERROR(db_->Read([&](Transaction& tx) -> absl::Status {
    changes.clear();
    ASSIGN_OR_RETURN(
        Statement stmt,
        tx.Prepare("SELECT seq, payload, kind, resource, commit_time, source FROM change "
                   "WHERE seq > ? ORDER BY seq LIMIT ?"));
    stmt.Bind(1, after).Bind(2, static_cast<int64_t>(limit));
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      changes.push_back(ReadChangeRow(stmt, 0));
    }
    return absl::OkStatus();
  }));
  return changes;
}

absl::StatusOr<std::vector<CommittedChange>> Store::ChangeHeadsAfter(int64_t after, int limit) {
  std::vector<CommittedChange> changes;
  RETURN_IF_ERROR(db_->Read([&](Transaction& tx) -> absl::Status {
    changes.clear();
    ASSIGN_OR_RETURN(Statement stmt,
                     tx.Prepare("SELECT seq, kind, resource FROM change WHERE seq > ? ORDER BY seq "
                                "LIMIT ?"));
    stmt.Bind(1, after).Bind(2, static_cast<int64_t>(limit));
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      CommittedChange& change = changes.emplace_back();
      change.sequence = stmt.Int(0);
      change.kind = static_cast<v1::Change::Kind>(stmt.Int(1));
      change.resource = TextColumn(stmt, 2);
      if (absl::StartsWith(change.resource, "practices/")) {
        change.practice_code = change.resource.substr(sizeof("practices/") - 1);
      }
    }
    return absl::OkStatus();
  }));
  return changes;
}

absl::StatusOr<int64_t> Store::LatestSequence() {
  int64_t latest = 0;
  RETURN_IF_ERROR(db_->Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(Statement stmt, tx.Prepare("SELECT COALESCE(MAX(seq), 0) FROM change"));
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    latest = row ? stmt.Int(0) : 0;
    return absl::OkStatus();
  }));
  return latest;
}

}  // namespace dorset::registry
