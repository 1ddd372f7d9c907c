#include "runtime/sqlite/wal_batch_vfs.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

namespace dorset::runtime::sqlite {
namespace {

// The buffer of a WAL file that is written: reserved at its first write, never grown (a group
// commit's frames are ~10-40 KiB; a bulk load's transaction goes out in pieces of this size),
// so a connection's memory does not depend on how much a transaction writes (the registry's
// import is held to a peak that does not grow with the file, tests/registry/import_process_test).
constexpr size_t kMaxBuffered = size_t{256} << 10;
// The most one call to the base VFS writes: the unix VFS masks a write's size with 0x1ffff
// (a 128 KiB write would write nothing and report a full disk), so the buffer goes out in
// pieces of at most 31 pages.
constexpr size_t kMaxWrite = 0x1ffff & ~size_t{4095};

sqlite3_vfs* base_vfs = nullptr;  // the default VFS, set before registration

// Our file: SQLite allocates szOsFile bytes for it; the base VFS's file follows this struct.
struct BatchFile {
  sqlite3_file base;   // pMethods: &kDbMethods or &kWalMethods
  sqlite3_file* real;  // the base VFS's file
  // WAL file: its database file (null once that closed). Database file: its WAL while open.
  BatchFile* other;
  // WAL file only: consecutive writes not yet written, starting at buffer_offset.
  std::string buffer;
  sqlite3_int64 buffer_offset;
};

BatchFile* Of(sqlite3_file* file) { return reinterpret_cast<BatchFile*>(file); }
sqlite3_file* Real(sqlite3_file* file) { return Of(file)->real; }
const sqlite3_io_methods* M(sqlite3_file* file) { return Real(file)->pMethods; }

// Writes the WAL file's buffered bytes (one call); SQLite's own error code on failure
// (SQLITE_FULL for a full disk, SQLITE_IOERR_WRITE otherwise).
int Flush(BatchFile* wal) {
  int rc = SQLITE_OK;
  for (size_t done = 0; done < wal->buffer.size() && rc == SQLITE_OK; done += kMaxWrite) {
    const size_t size = std::min(kMaxWrite, wal->buffer.size() - done);
    rc = wal->real->pMethods->xWrite(wal->real, wal->buffer.data() + done, static_cast<int>(size),
                                     wal->buffer_offset + static_cast<sqlite3_int64>(done));
  }
  wal->buffer.clear();
  return rc;
}

// ---- WAL files: writes gathered, everything else flushes first.
int WalClose(sqlite3_file* file) {
  BatchFile* wal = Of(file);
  int rc = Flush(wal);
  if (wal->other != nullptr) wal->other->other = nullptr;
  const int close_rc = M(file)->xClose(wal->real);
  wal->~BatchFile();
  return rc != SQLITE_OK ? rc : close_rc;
}
int WalRead(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
  if (int rc = Flush(Of(file)); rc != SQLITE_OK) return rc;
  return M(file)->xRead(Real(file), out, amount, offset);
}
int WalWrite(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
  BatchFile* wal = Of(file);
  const size_t size = static_cast<size_t>(amount);
  if (!wal->buffer.empty() &&
      (offset != wal->buffer_offset + static_cast<sqlite3_int64>(wal->buffer.size()) ||
       wal->buffer.size() + size > kMaxBuffered)) {
    // Not where the last write ended (a frame rewritten in place, a new header), or no room:
    // what was gathered goes first, so the file sees the writes in SQLite's order.
    if (int rc = Flush(wal); rc != SQLITE_OK) return rc;
  }
  if (size > kMaxBuffered) return M(file)->xWrite(Real(file), data, amount, offset);
  if (wal->buffer.capacity() < kMaxBuffered) wal->buffer.reserve(kMaxBuffered);
  if (wal->buffer.empty()) wal->buffer_offset = offset;
  wal->buffer.append(static_cast<const char*>(data), size);
  return SQLITE_OK;
}
int WalTruncate(sqlite3_file* file, sqlite3_int64 size) {
  if (int rc = Flush(Of(file)); rc != SQLITE_OK) return rc;
  return M(file)->xTruncate(Real(file), size);
}
int WalSync(sqlite3_file* file, int flags) {
  if (int rc = Flush(Of(file)); rc != SQLITE_OK) return rc;
  return M(file)->xSync(Real(file), flags);
}
int WalFileSize(sqlite3_file* file, sqlite3_int64* size) {
  if (int rc = Flush(Of(file)); rc != SQLITE_OK) return rc;
  return M(file)->xFileSize(Real(file), size);
}
int WalFileControl(sqlite3_file* file, int op, void* arg) {
  if (int rc = Flush(Of(file)); rc != SQLITE_OK) return rc;
  return M(file)->xFileControl(Real(file), op, arg);
}
int WalFetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  *out = nullptr;
  if (int rc = Flush(Of(file)); rc != SQLITE_OK) return rc;
  return M(file)->iVersion >= 3 ? M(file)->xFetch(Real(file), offset, amount, out) : SQLITE_OK;
}

// ---- Pass-through (every file), with the WAL flushed when the database file's WAL locks are
// released or the wal-index header is published.
void FlushWalOf(sqlite3_file* db_file) {
  BatchFile* wal = Of(db_file)->other;
  // Only a rolled-back transaction's spilled frames can be left here (a commit synced them):
  // written, as SQLite wrote them, before another connection may take the write lock.
  if (wal != nullptr) (void)Flush(wal);
}
int DbClose(sqlite3_file* file) {
  BatchFile* db = Of(file);
  if (db->other != nullptr) db->other->other = nullptr;
  const int rc = M(file)->xClose(db->real);
  db->~BatchFile();
  return rc;
}
int DbRead(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
  return M(file)->xRead(Real(file), out, amount, offset);
}
int DbWrite(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
  return M(file)->xWrite(Real(file), data, amount, offset);
}
int DbTruncate(sqlite3_file* file, sqlite3_int64 size) {
  return M(file)->xTruncate(Real(file), size);
}
int DbSync(sqlite3_file* file, int flags) { return M(file)->xSync(Real(file), flags); }
int DbFileSize(sqlite3_file* file, sqlite3_int64* size) {
  return M(file)->xFileSize(Real(file), size);
}
int DbFileControl(sqlite3_file* file, int op, void* arg) {
  if (op == SQLITE_FCNTL_PRAGMA) {
    // Gathering is safe only while every commit syncs the WAL: a connection of this VFS keeps
    // synchronous at FULL (or EXTRA).
    char** pragma = static_cast<char**>(arg);
    const char* value = pragma[2];
    if (sqlite3_stricmp(pragma[1], "synchronous") == 0 && value != nullptr &&
        sqlite3_stricmp(value, "full") != 0 && sqlite3_stricmp(value, "extra") != 0 &&
        std::strcmp(value, "2") != 0 && std::strcmp(value, "3") != 0) {
      pragma[0] = sqlite3_mprintf(
          "synchronous stays FULL on a connection whose WAL writes are gathered "
          "(runtime/sqlite/wal_batch_vfs.h)");
      return SQLITE_ERROR;
    }
  }
  return M(file)->xFileControl(Real(file), op, arg);
}
int DbFetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  *out = nullptr;
  return M(file)->iVersion >= 3 ? M(file)->xFetch(Real(file), offset, amount, out) : SQLITE_OK;
}
int Lock(sqlite3_file* file, int level) { return M(file)->xLock(Real(file), level); }
int Unlock(sqlite3_file* file, int level) { return M(file)->xUnlock(Real(file), level); }
int CheckReservedLock(sqlite3_file* file, int* out) {
  return M(file)->xCheckReservedLock(Real(file), out);
}
int SectorSize(sqlite3_file* file) { return M(file)->xSectorSize(Real(file)); }
int DeviceCharacteristics(sqlite3_file* file) {
  return M(file)->xDeviceCharacteristics(Real(file));
}
int ShmMap(sqlite3_file* file, int page, int size, int extend, void volatile** out) {
  if (M(file)->iVersion < 2) return SQLITE_IOERR;
  return M(file)->xShmMap(Real(file), page, size, extend, out);
}
int ShmLock(sqlite3_file* file, int offset, int n, int flags) {
  if (M(file)->iVersion < 2) return SQLITE_IOERR;
  if ((flags & SQLITE_SHM_UNLOCK) != 0) FlushWalOf(file);
  return M(file)->xShmLock(Real(file), offset, n, flags);
}
void ShmBarrier(sqlite3_file* file) {
  FlushWalOf(file);
  if (M(file)->iVersion >= 2) M(file)->xShmBarrier(Real(file));
}
int ShmUnmap(sqlite3_file* file, int delete_flag) {
  if (M(file)->iVersion < 2) return SQLITE_OK;
  return M(file)->xShmUnmap(Real(file), delete_flag);
}
int Unfetch(sqlite3_file* file, sqlite3_int64 offset, void* page) {
  return M(file)->iVersion >= 3 ? M(file)->xUnfetch(Real(file), offset, page) : SQLITE_OK;
}

const sqlite3_io_methods kDbMethods = {
    3,
    DbClose,
    DbRead,
    DbWrite,
    DbTruncate,
    DbSync,
    DbFileSize,
    Lock,
    Unlock,
    CheckReservedLock,
    DbFileControl,
    SectorSize,
    DeviceCharacteristics,
    ShmMap,
    ShmLock,
    ShmBarrier,
    ShmUnmap,
    DbFetch,
    Unfetch,
};
const sqlite3_io_methods kWalMethods = {
    3,
    WalClose,
    WalRead,
    WalWrite,
    WalTruncate,
    WalSync,
    WalFileSize,
    Lock,
    Unlock,
    CheckReservedLock,
    WalFileControl,
    SectorSize,
    DeviceCharacteristics,
    ShmMap,
    ShmLock,
    ShmBarrier,
    ShmUnmap,
    WalFetch,
    Unfetch,
};

constexpr int RealOffset() { return static_cast<int>((sizeof(BatchFile) + 15) & ~size_t{15}); }

int Open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  auto* ours = new (file) BatchFile{};
  ours->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + RealOffset());
  ours->real->pMethods = nullptr;
  const int rc = base_vfs->xOpen(base_vfs, name, ours->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    if (ours->real->pMethods != nullptr) ours->real->pMethods->xClose(ours->real);
    ours->~BatchFile();
    file->pMethods = nullptr;
    return rc;
  }
  if ((flags & SQLITE_OPEN_WAL) != 0) {
    ours->base.pMethods = &kWalMethods;
    sqlite3_file* db_file = sqlite3_database_file_object(name);
    if (db_file != nullptr && db_file->pMethods == &kDbMethods) {
      ours->other = Of(db_file);
      Of(db_file)->other = ours;
    }
  } else {
    ours->base.pMethods = &kDbMethods;
  }
  return SQLITE_OK;
}

// The rest of the VFS is the base VFS's.
int Delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return base_vfs->xDelete(base_vfs, name, sync_dir);
}
int Access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return base_vfs->xAccess(base_vfs, name, flags, out);
}
int FullPathname(sqlite3_vfs*, const char* name, int size, char* out) {
  return base_vfs->xFullPathname(base_vfs, name, size, out);
}
void* DlOpen(sqlite3_vfs*, const char* name) { return base_vfs->xDlOpen(base_vfs, name); }
void DlError(sqlite3_vfs*, int size, char* out) { base_vfs->xDlError(base_vfs, size, out); }
void (*DlSym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
  return base_vfs->xDlSym(base_vfs, handle, symbol);
}
void DlClose(sqlite3_vfs*, void* handle) { base_vfs->xDlClose(base_vfs, handle); }
int Randomness(sqlite3_vfs*, int size, char* out) {
  return base_vfs->xRandomness(base_vfs, size, out);
}
int Sleep(sqlite3_vfs*, int micros) { return base_vfs->xSleep(base_vfs, micros); }
int CurrentTime(sqlite3_vfs*, double* out) { return base_vfs->xCurrentTime(base_vfs, out); }
int GetLastError(sqlite3_vfs*, int size, char* out) {
  return base_vfs->xGetLastError(base_vfs, size, out);
}
int CurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) {
  return base_vfs->xCurrentTimeInt64(base_vfs, out);
}

const char* Register() {
  const char* setting = std::getenv("DORSET_SQLITE_WAL_BATCH");
  if (setting != nullptr && std::strcmp(setting, "off") == 0) return nullptr;
  if (sqlite3_initialize() != SQLITE_OK) return nullptr;
  // A database ATTACHed to a connection starts at the build's default synchronous level: a
  // SQLite built with a default below FULL gets the default VFS.
  for (const char* option : {"DEFAULT_SYNCHRONOUS=0", "DEFAULT_SYNCHRONOUS=1",
                             "DEFAULT_WAL_SYNCHRONOUS=0", "DEFAULT_WAL_SYNCHRONOUS=1"}) {
    if (sqlite3_compileoption_used(option) != 0) return nullptr;
  }
  base_vfs = sqlite3_vfs_find(nullptr);
  // The base VFS must offer what the forwarding above calls (unix's is version 3).
  if (base_vfs == nullptr || base_vfs->iVersion < 2) return nullptr;
  static sqlite3_vfs vfs{};
  vfs.iVersion = 2;
  vfs.szOsFile = RealOffset() + base_vfs->szOsFile;
  vfs.mxPathname = base_vfs->mxPathname;
  vfs.zName = "dorset-walbatch";
  vfs.xOpen = Open;
  vfs.xDelete = Delete;
  vfs.xAccess = Access;
  vfs.xFullPathname = FullPathname;
  vfs.xDlOpen = DlOpen;
  vfs.xDlError = DlError;
  vfs.xDlSym = DlSym;
  vfs.xDlClose = DlClose;
  vfs.xRandomness = Randomness;
  vfs.xSleep = Sleep;
  vfs.xCurrentTime = CurrentTime;
  vfs.xGetLastError = GetLastError;
  vfs.xCurrentTimeInt64 = CurrentTimeInt64;
  if (sqlite3_vfs_register(&vfs, /*makeDflt=*/0) != SQLITE_OK) return nullptr;
  return vfs.zName;
}

}  // namespace

const char* WalBatchVfsName() {
  static const char* const name = Register();
  return name;
}

}  // namespace dorset::runtime::sqlite
