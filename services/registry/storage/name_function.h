// dorset_name_contains(name, text): the SQLite walk's name test (practice_query_sql.cc, issue 16),
// registered on every SQLite connection the process opens from the first call of
// RegisterNameFunction on (sqlite3_auto_extension; Store::Open calls it before opening).
//
// 1 when `name`, ASCII-lowered, contains `text` (already ASCII-lowered, no NUL), else 0: the
// same test as `instr(LOWER(name), text) > 0`, whose folding is ASCII only, as LOWER's and
// LIKE's are, and on valid UTF-8 a byte match of a text that starts with a character is a
// character match. It reads both values in place: LOWER made a NUL-terminated copy of the name
// and a lowered copy (two allocations, ~1.5 k instructions of a row walked).
#ifndef DORSET_SERVICES_REGISTRY_STORAGE_NAME_FUNCTION_H_
#define DORSET_SERVICES_REGISTRY_STORAGE_NAME_FUNCTION_H_

#include <string_view>

#include "absl/status/status.h"

namespace dorset::registry {

absl::Status RegisterNameFunction();

// The test itself (`text` lowered): also what the SQL function calls.
bool NameContainsLowered(std::string_view name, std::string_view text);

}  // namespace dorset::registry

#endif  // DORSET_SERVICES_REGISTRY_STORAGE_NAME_FUNCTION_H_
