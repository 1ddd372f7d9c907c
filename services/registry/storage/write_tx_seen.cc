// The registry store's write transaction (WriteTx, store.h): the import's once-only check of
// keys (import_seen), one at a time or a batch at a time, with the in-memory filter before the
// table.
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

absl::Status WriteTx::ResetSeen() {
  RETURN_IF_ERROR(tx_.Exec("DELETE FROM import_seen"));
  bulk_sql::ResetFilter(seen_filter_);
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
