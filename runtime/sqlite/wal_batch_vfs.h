// A SQLite VFS over the default one that gathers a write transaction's WAL writes into one
// write call (issue 16). SQLite writes each WAL frame as two write calls (its 24-byte header and
// the page), so a finance posting group of ~9 frames cost ~18 pwrite syscalls before its
// fdatasync; through this VFS consecutive writes to a WAL file are copied into a buffer and
// written by one pwrite when SQLite next syncs, reads, sizes, truncates or closes that file,
// writes somewhere else in it, or (on the database file) releases a WAL lock or publishes the
// wal-index header (xShmLock unlock, xShmBarrier). Every other file passes straight through.
//
// Only for connections with synchronous=FULL (runtime/sqlite/database.cc opens those through
// it): there SQLite syncs the WAL at every commit before it publishes the new frames in the
// wal-index, so the frames are in the file before any other connection can learn of them, and a
// commit reports success only after they were written and synced. Why it is safe, and what else
// was considered: docs/storage.md, "WAL writes in one call".
#ifndef DORSET_RUNTIME_SQLITE_WAL_BATCH_VFS_H_
#define DORSET_RUNTIME_SQLITE_WAL_BATCH_VFS_H_

namespace dorset::runtime::sqlite {

// Registers the VFS (once; not as the default) and returns its name for sqlite3_open_v2, or
// nullptr when DORSET_SQLITE_WAL_BATCH=off was set at the first call (the default VFS then).
const char* WalBatchVfsName();

}  // namespace dorset::runtime::sqlite

#endif  // DORSET_RUNTIME_SQLITE_WAL_BATCH_VFS_H_
