// The registry store's write transaction (WriteTx, store.h), its set-based paths for the
// national import: practices loaded and saved a batch at a time, the once-only check of codes
// (an in-memory filter before the table), and the first import's deferred indexes.
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
#include "runtime/base/string_view.h"
#include "runtime/logging/log.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/database.h"
#include "runtime/storage/etag.h"
#include "services/registry/closure_policy.h"
#include "services/registry/storage/storage_rows.h"
#include "services/registry/storage/store.h"
#include "services/registry/stored_text.h"
#include "services/registry/text.h"
#include "services/registry/validation.h"

namespace dorset::registry {
namespace {

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

}  // namespace dorset::registry
