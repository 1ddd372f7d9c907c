// Rewrites the lane's `?` placeholders to PostgreSQL's $1, $2, ... in order, leaving alone a `?`
// inside a quoted string ('...'), a quoted identifier ("..."), a dollar-quoted body ($tag$...$tag$)
// or a comment (-- ... and /* ... */), so one SQL text serves both engines.
//
//   int count = 0;
//   std::string sql = RewritePlaceholders("SELECT '?' , x FROM t WHERE id = ?", &count);
//   // sql == "SELECT '?' , x FROM t WHERE id = $1", count == 1
#ifndef DORSET_RUNTIME_STORAGE_POSTGRES_PLACEHOLDERS_H_
#define DORSET_RUNTIME_STORAGE_POSTGRES_PLACEHOLDERS_H_

#include <string>
#include <string_view>

namespace dorset::runtime::storage {

std::string RewritePlaceholders(std::string_view sql, int* count);

}  // namespace dorset::runtime::storage

#endif  // DORSET_RUNTIME_STORAGE_POSTGRES_PLACEHOLDERS_H_
