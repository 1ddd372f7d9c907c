#include "services/registry/storage/bulk_sql.h"

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "runtime/status/status_macros.h"
#include "services/registry/storage/store.h"

namespace dorset::registry::bulk_sql {
namespace {

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

}  // namespace

std::string ValuesRows(size_t rows, int columns) {
  std::string group = "(";
  for (int c = 0; c < columns; ++c) absl::StrAppend(&group, c == 0 ? "?" : ", ?");
  group += ")";
  std::string sql;
  sql.reserve(rows * (group.size() + 2));
  for (size_t r = 0; r < rows; ++r) absl::StrAppend(&sql, r == 0 ? "" : ", ", group);
  return sql;
}

std::string InList(size_t n) {
  std::string sql;
  sql.reserve(n * 3);
  for (size_t i = 0; i < n; ++i) sql += i == 0 ? "?" : ", ?";
  return sql;
}

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

void ResetFilter(std::vector<uint64_t>& filter) { filter.assign(kKeyFilterBits / 64, 0); }
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

}  // namespace dorset::registry::bulk_sql
