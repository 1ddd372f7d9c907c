// The registry store's write transaction (WriteTx, store.h), its set-based paths for the
// national import: practices loaded and saved a batch at a time. The once-only check of codes is
// in write_tx_seen.cc, the first import's deferred indexes in write_tx_first_import.cc.
#include <cstdio>
#include <cstdlib>
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
#include "services/registry/storage/bulk_sql.h"
#include "services/registry/storage/storage_rows.h"
#include "services/registry/storage/store.h"
#include "services/registry/stored_text.h"
#include "services/registry/text.h"
#include "services/registry/validation.h"

namespace dorset::registry {
namespace {

using bulk_sql::FilterAdd;
using bulk_sql::FilterMayHave;
using bulk_sql::ForChunks;
using bulk_sql::InList;
using bulk_sql::ValuesRows;

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

// `change` (without a resource state) serialized with `practice_bytes`, a serialized Practice,
// as its `practice`: the bytes SerializeAsString gives with the practice set, since protobuf
// writes fields in the order of their numbers and `practice` (10) is after every field a
// practice's change sets (1-6). Saves copying each practice into its change and serializing it
// again (issue 16); Debug builds check the bytes against the copy.
std::string ChangeWithPractice(const v1::Change& change, std::string_view practice_bytes) {
  static_assert(v1::Change::kPracticeFieldNumber > v1::Change::kChangedFieldsFieldNumber);
  std::string out = change.SerializeAsString();
  out.reserve(out.size() + 6 + practice_bytes.size());
  uint32_t tag = (v1::Change::kPracticeFieldNumber << 3) | 2;  // length-delimited
  uint64_t size = practice_bytes.size();
  for (uint64_t v : {static_cast<uint64_t>(tag), size}) {
    while (v >= 0x80) {
      out.push_back(static_cast<char>(v | 0x80));
      v >>= 7;
    }
    out.push_back(static_cast<char>(v));
  }
  out.append(practice_bytes);
#ifndef NDEBUG
  v1::Change full = change;
  if (!full.mutable_practice()->ParseFromString(std::string(practice_bytes)) ||
      full.SerializeAsString() != out) {
    std::fprintf(stderr, "ChangeWithPractice: the bytes differ from the message's\n");
    std::abort();
  }
#endif
  return out;
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
  // In a bulk write, whether there is any assignment at all is asked once: the national import
  // into a store without assignments then reads none per batch. On PostgreSQL that read was the
  // batch's one statement that waited for its results, and so for every statement sent before
  // it: the server idled while the import built the next batch, and the import while the server
  // wrote the last (issue 16, bench/README.md session 20). SetAssignment makes it ask again.
  if (codes.empty()) return absl::OkStatus();
  if (bulk_ && assignments_ == Assignments::kUnknown) {
    ASSIGN_OR_RETURN(Statement * any,
                     Cached(kAnyAssignment, "SELECT 1 FROM locality_assignment LIMIT 1"));
    ASSIGN_OR_RETURN(bool row, any->Step());
    any->Reset();  // done with it: on SQLite an unfinished read would hold its table
    assignments_ = row ? Assignments::kSome : Assignments::kNone;
  }
  if (bulk_ && assignments_ == Assignments::kNone) return absl::OkStatus();
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

absl::StatusOr<bool> WriteTx::InsertChangesFromPractices(std::span<const PracticeSave> saves,
                                                         std::span<const std::string> data,
                                                         std::span<const int64_t> sequences) {
  if (tx_.engine() != Engine::kPostgres || saves.empty() ||
      sequences.back() - sequences.front() + 1 != static_cast<int64_t>(saves.size())) {
    return false;
  }
  // The payload is the Change serialized with its fields in number order (ChangeWithPractice):
  // kind (2), resource (3), then commit time, source and changed fields (4-6), then the
  // practice's bytes as field 10. Every part but the resource and the practice is the same for
  // the batch when its kind and changed fields are; each code goes once in a list, so none may
  // hold the separator, and the resource's length must take one byte as a varint.
  std::string codes;
  for (size_t i = 0; i < saves.size(); ++i) {
    const PracticeSave& save = saves[i];
    if (save.previous != nullptr || save.kind != saves[0].kind ||
        save.changed_fields != saves[0].changed_fields || save.practice.name().size() >= 0x80 ||
        data[i].size() >= 0x4000 || absl::StrContains(save.practice.ods_code(), ',') ||
        save.practice.ods_code().empty()) {
      return false;
    }
    if (i > 0) codes.push_back(',');
    codes.append(save.practice.ods_code());
  }
  v1::Change head;
  head.set_kind(saves[0].kind);
  v1::Change tail;
  for (const std::string& field : saves[0].changed_fields) tail.add_changed_fields(field);
  tail.set_source(source_);
  *tail.mutable_commit_time() = FromMicros(now_micros_);
  static_assert(v1::Change::kKindFieldNumber < v1::Change::kResourceFieldNumber &&
                v1::Change::kResourceFieldNumber < v1::Change::kCommitTimeFieldNumber &&
                v1::Change::kResourceFieldNumber == 3 && v1::Change::kPracticeFieldNumber == 10);
  // In SQL: the resource framed as field 3 (tag 0x1a, a one-byte length), the practice's bytes
  // as field 10 (tag 0x52, a length of one or two varint bytes: under 0x4000, checked above).
  ASSIGN_OR_RETURN(
      Statement * insert,
      Cached(kChangesFromPractices,
             "INSERT INTO change (seq, kind, resource, commit_time, source, actor, payload) "
             "SELECT CAST(? AS bigint) + c.n - 1, CAST(? AS bigint), 'practices/' || p.ods_code, "
             "CAST(? AS bigint), CAST(? AS text), CAST(? AS text), "
             "CAST(? AS bytea) || '\\x1a'::bytea || "
             "set_byte('\\x00'::bytea, 0, octet_length('practices/' || p.ods_code)) || "
             "convert_to('practices/' || p.ods_code, 'UTF8') || CAST(? AS bytea) || "
             "'\\x52'::bytea || CASE WHEN octet_length(p.data) < 128 "
             "THEN set_byte('\\x00'::bytea, 0, octet_length(p.data)) "
             "ELSE set_byte(set_byte('\\x0000'::bytea, 0, (octet_length(p.data) & 127) | 128), "
             "1, octet_length(p.data) >> 7) END || p.data "
             "FROM unnest(string_to_array(CAST(? AS text), ',')) WITH ORDINALITY AS c(code, n) "
             "JOIN practice p ON p.ods_code = c.code"));
  insert->Bind(1, sequences.front())
      .Bind(2, static_cast<int64_t>(saves[0].kind))
      .Bind(3, now_micros_)
      .Bind(4, source_)
      .Bind(5, actor_)
      .BindBlob(6, head.SerializeAsString())
      .BindBlob(7, tail.SerializeAsString())
      .Bind(8, codes);
  RETURN_IF_ERROR(Apply(*insert));
  return true;
}

absl::Status WriteTx::InsertRevisions(std::span<const PracticeSave> saves,
                                      std::span<const int64_t> revisions,
                                      std::span<const int64_t> sequences) {
  return ForChunks(saves.size(), [&](size_t first, size_t rows) -> absl::Status {
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
  // Each practice's stored bytes, serialized once: the row's `data` and, framed as field 10,
  // the tail of its change row's payload (below).
  std::vector<std::string> data(saves.size());
  for (size_t i = 0; i < saves.size(); ++i) saves[i].practice.SerializeToString(&data[i]);

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
            .BindBlob(at + 10, data[i]);
      }
      return Apply(*upsert);
    }));
  }

  // The change feed's rows, numbered in order.
  std::vector<int64_t> sequences(saves.size());
  for (int64_t& seq : sequences) {
    ASSIGN_OR_RETURN(seq, NextSequence());
  }
  // New practices only (PostgreSQL): the server makes the change rows from the practice rows
  // just written, one statement for the batch, instead of taking seven values a row from here
  // (issue 16, bench/README.md session 22). The same bytes as below.
  ASSIGN_OR_RETURN(const bool changes_made, stored.empty()
                                                ? InsertChangesFromPractices(saves, data, sequences)
                                                : absl::StatusOr<bool>(false));
  if (!changes_made) {
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
        change.set_resource(practice.name());
        change.set_source(source_);
        *change.mutable_commit_time() = FromMicros(now_micros_);
        insert->Bind(at, sequences[i])
            .Bind(at + 1, static_cast<int64_t>(saves[i].kind))
            .Bind(at + 2, practice.name())
            .Bind(at + 3, now_micros_)
            .Bind(at + 4, source_)
            .Bind(at + 5, actor_)
            .BindBlob(at + 6, ChangeWithPractice(change, data[i]));
      }
      return Apply(*insert);
    }));
  }

  if (tx_.engine() == Engine::kPostgres && stored.empty() && !saves.empty() &&
      sequences.back() - sequences.front() + 1 == static_cast<int64_t>(saves.size())) {
    // New practices only (PostgreSQL): each is at revision 1 and its change row, just written,
    // is numbered in a row with the others' and names it as its resource, "practices/<code>".
    // So the server makes the revisions from those change rows, one statement for the batch,
    // instead of taking three values a row from here (issue 16, bench/README.md session 22).
    ASSIGN_OR_RETURN(Statement * insert,
                     Cached(kRevisionsFromChanges,
                            "INSERT INTO practice_revision (ods_code, revision, seq) SELECT "
                            "substr(resource, 11), 1, seq FROM change WHERE seq BETWEEN ? AND ?"));
    static_assert(sizeof("practices/") - 1 == 10);
    insert->Bind(1, sequences.front()).Bind(2, sequences.back());
    RETURN_IF_ERROR(Apply(*insert));
  } else {
    RETURN_IF_ERROR(InsertRevisions(saves, revisions, sequences));
  }

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

}  // namespace dorset::registry
