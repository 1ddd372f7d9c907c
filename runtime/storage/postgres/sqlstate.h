// Maps a PostgreSQL SQLSTATE to the lane's status codes: unique violation (23505) ALREADY_EXISTS,
// other integrity violations (23xxx) FAILED_PRECONDITION, serialization failure and deadlock
// (40001, 40P01) ABORTED and retryable, connection faults (08xxx, 57P0x, 58030) UNAVAILABLE,
// insufficient resources such as a full disk (53xxx) RESOURCE_EXHAUSTED, the rest INTERNAL.
//
//   absl::Status s = StatusFromSqlState("23505", "duplicate key value");  // ALREADY_EXISTS
//   if (IsRetryableSqlState(state)) connection.NoteRetryable();
#ifndef DORSET_RUNTIME_STORAGE_POSTGRES_SQLSTATE_H_
#define DORSET_RUNTIME_STORAGE_POSTGRES_SQLSTATE_H_

#include <string_view>

#include "absl/status/status.h"

namespace dorset::runtime::storage {

absl::Status StatusFromSqlState(std::string_view sqlstate, std::string_view message);
bool IsRetryableSqlState(std::string_view sqlstate);

}  // namespace dorset::runtime::storage

#endif  // DORSET_RUNTIME_STORAGE_POSTGRES_SQLSTATE_H_
