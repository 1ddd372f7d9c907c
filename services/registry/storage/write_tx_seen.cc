// The registry store's write transaction (WriteTx, store.h): the import's once-only check of
// keys, one at a time or a batch at a time: in memory up to WriteTx::kSeenMemoryBytes, then in
// import_seen with the in-memory filter before the table.
//
// Issue 16 (bench/README.md, session 22): the national extract's 16,534 codes written to
// import_seen, and deleted again at the end, were 50-75 ms of PostgreSQL's statement time in a
// ~1 s import, to hold ~1.3 MB. So the keys stay in the process until they would take more than
// kSeenMemoryBytes (2 MiB, ~26,000 codes), and only a larger file moves them, all at once, to
// the table for the rest of its import: the memory held is a constant whatever the file's size,
// as before, and the answers are the same either way (a key's first line and value).
#include <atomic>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/database.h"
#include "services/registry/storage/bulk_sql.h"
#include "services/registry/storage/store.h"

namespace dorset::registry {

using bulk_sql::FilterAdd;
using bulk_sql::FilterMayHave;
using bulk_sql::ForChunks;
using bulk_sql::InList;
using bulk_sql::ValuesRows;
using runtime::storage::Statement;

namespace {

std::atomic<size_t> seen_memory_bytes_for_test{0};

size_t SeenMemoryBytes() {
  const size_t bytes = seen_memory_bytes_for_test.load();
  return bytes == 0 ? WriteTx::kSeenMemoryBytes : bytes;
}

// What a key held in memory costs: its slot in the map (twice: the map grows by doubling), its
// text where it does not fit in the string itself, and its value.
size_t SeenEntryBytes(const std::string& key, const std::string& value) {
  constexpr size_t kSmallString = 15;  // held inside std::string (libstdc++)
  return 2 * sizeof(std::pair<const std::string, int>) +
         (key.size() > kSmallString ? key.size() + 1 : 0) +
         (value.empty()
              ? 0
              : 2 * sizeof(std::pair<const std::string, std::string>) + key.size() + value.size());
}

}  // namespace

void WriteTx::SetSeenMemoryBytesForTest(size_t bytes) { seen_memory_bytes_for_test = bytes; }

absl::Status WriteTx::ResetSeen() {
  // The table is emptied unless this transaction knows it is: it is empty outside an import's
  // transaction, so only the first reset and one after keys moved there run the DELETE.
  if (!seen_table_empty_) {
    RETURN_IF_ERROR(tx_.Exec("DELETE FROM import_seen"));
    seen_table_empty_ = true;
  }
  seen_lines_ = {};
  seen_values_ = {};
  seen_bytes_ = 0;
  seen_in_table_ = false;
  bulk_sql::ResetFilter(seen_filter_);
  return absl::OkStatus();
}

void WriteTx::RememberSeen(const std::string& key, int line, const std::string& value) {
  // The map is made once at the size it may reach: growing it by doubling would hold the old
  // table and the new one at once, at the import's peak.
  if (seen_lines_.capacity() == 0) {
    seen_lines_.reserve(SeenMemoryBytes() / (2 * sizeof(std::pair<const std::string, int>)));
  }
  seen_lines_.emplace(key, line);
  if (!value.empty()) seen_values_.emplace(key, value);
  seen_bytes_ += SeenEntryBytes(key, value);
}

absl::Status WriteTx::MoveSeenIfFull() {
  if (seen_bytes_ <= SeenMemoryBytes()) return absl::OkStatus();
  std::vector<const std::pair<const std::string, int>*> rows;
  rows.reserve(seen_lines_.size());
  for (const auto& entry : seen_lines_) rows.push_back(&entry);
  seen_in_table_ = true;
  seen_table_empty_ = false;
  RETURN_IF_ERROR(ForChunks(rows.size(), [&](size_t first, size_t n) -> absl::Status {
    ASSIGN_OR_RETURN(Statement * mark, CachedRows(kMarkSeenRows, n, [](size_t k) {
                       return absl::StrCat("INSERT INTO import_seen (key, line, value) VALUES ",
                                           ValuesRows(k, 3));
                     }));
    int at = 1;
    for (size_t i = first; i < first + n; ++i, at += 3) {
      const auto& [key, line] = *rows[i];
      auto value = seen_values_.find(key);
      mark->Bind(at, key)
          .Bind(at + 1, static_cast<int64_t>(line))
          .Bind(at + 2,
                value == seen_values_.end() ? std::string_view("") : value->second);  // not NULL
      FilterAdd(seen_filter_, key);
    }
    return Apply(*mark);
  }));
  seen_lines_ = {};
  seen_values_ = {};
  seen_bytes_ = 0;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<WriteTx::Seen>> WriteTx::SeeOnce(const std::string& key, int line,
                                                              const std::string& value) {
  if (!seen_in_table_) {
    if (auto it = seen_lines_.find(key); it != seen_lines_.end()) {
      auto stored = seen_values_.find(key);
      return Seen{it->second, stored == seen_values_.end() ? std::string() : stored->second};
    }
    RememberSeen(key, line, value);
    RETURN_IF_ERROR(MoveSeenIfFull());
    return std::nullopt;
  }
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
  if (!seen_in_table_) {
    for (size_t i = 0; i < keys.size(); ++i) {
      if (auto it = seen_lines_.find(keys[i].first); it != seen_lines_.end()) {
        seen[i] = Seen{it->second, {}};  // a batch's keys have no value (SeeOnce's may)
        if (auto stored = seen_values_.find(keys[i].first); stored != seen_values_.end()) {
          seen[i]->value = stored->second;
        }
      }
    }
    for (size_t i = 0; i < keys.size(); ++i) {
      if (!seen[i]) RememberSeen(keys[i].first, keys[i].second, std::string());
    }
    RETURN_IF_ERROR(MoveSeenIfFull());
    return seen;
  }
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
