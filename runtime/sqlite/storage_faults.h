// Storage faults seen by the SQLite layer: a write refused because the disk (or the database's
// page limit) is full, an I/O error, or a read-only file. SqliteError() notes each one here by
// database file; a later successful commit to that file clears it. The server's readiness asks
// whether a file in its data directory has an unresolved fault, so /readyz and gRPC health say
// so while writes fail, and the metrics count them.
#ifndef DORSET_RUNTIME_SQLITE_STORAGE_FAULTS_H_
#define DORSET_RUNTIME_SQLITE_STORAGE_FAULTS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace dorset::runtime::sqlite {

struct StorageFault {
  std::string path;  // the database file (absolute)
  absl::Status status;
  absl::Time last;  // when it was last seen
};

// Records a fault on the database file `path` (as SQLite names it).
void NoteStorageFault(const std::string& path, const absl::Status& status);
// A commit to `path` succeeded: its fault, if any, is resolved.
void NoteStorageWritten(const std::string& path);

// The most recent unresolved fault of a file under `dir` seen within `hold`. After `hold` with
// no new failure the fault is no longer reported, so readiness returns and the next write tests
// the disk again (a store written rarely has no other way to clear it).
std::optional<StorageFault> ActiveStorageFault(const std::string& dir, absl::Duration hold);

// Faults noted since the process started (for the metrics).
int64_t StorageFaultCount();

}  // namespace dorset::runtime::sqlite

#endif  // DORSET_RUNTIME_SQLITE_STORAGE_FAULTS_H_
