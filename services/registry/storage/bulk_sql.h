// Small pieces of the registry's set-based SQL (WriteTx, store.h: the national import's batches):
// placeholder lists, chunking into a few statement shapes, and a fixed-size Bloom filter of the
// keys a transaction wrote, so most "was this written before?" questions skip the table.
//   ForChunks(codes.size(), [&](size_t first, size_t rows) { ... InList(rows) ... });
#ifndef DORSET_SERVICES_REGISTRY_STORAGE_BULK_SQL_H_
#define DORSET_SERVICES_REGISTRY_STORAGE_BULK_SQL_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace dorset::registry::bulk_sql {

// `rows` groups of `columns` placeholders: "(?, ?), (?, ?)".
std::string ValuesRows(size_t rows, int columns);
// "?, ?, ?": `n` placeholders for an IN list.
std::string InList(size_t n);
// Runs `fn(first, rows)` over [0, n): chunks of WriteTx::kBatchRows, the rest in powers of two
// (at most log2(kBatchRows) + 1 statement shapes per statement).
absl::Status ForChunks(size_t n, const std::function<absl::Status(size_t, size_t)>& fn);

// Bloom filters of keys a transaction wrote (WriteTx: import_seen's keys, and the practices of
// the first import): 2^19 bits (64 KiB) and four probes, whatever the file's size. With the
// national extract's 16,534 keys about one in 5,000 is a false "maybe" (then read from the
// table, as every key was before); a larger file only makes it more often wrong, never wrong
// the other way.
void ResetFilter(std::vector<uint64_t>& filter);
// An empty (not reset) filter may have seen everything.
bool FilterMayHave(const std::vector<uint64_t>& filter, std::string_view key);
void FilterAdd(std::vector<uint64_t>& filter, std::string_view key);

}  // namespace dorset::registry::bulk_sql

#endif  // DORSET_SERVICES_REGISTRY_STORAGE_BULK_SQL_H_
