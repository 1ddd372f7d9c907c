// The lane's SQLite engine with secure_delete (runtime/storage/open.h OpenSettings): content a
// transaction overwrites or deletes is zeroed in the file, not left in free space — what a store
// holding personal data needs for erasure (engagement). Debian's SQLite is built with
// secure_delete on by default; the setting makes it explicit on any build. The control erases
// the same way on a connection with secure_delete OFF and finds the bytes still there, so the
// check can fail. SQLite only: the setting is SQLite's.
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "runtime/sqlite/database.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/database.h"
#include "runtime/storage/open.h"
#include "runtime/testing/temp_dir.h"
#include "storage_test_migrations.h"

namespace dorset::runtime::storage {
namespace {

constexpr char kMarker[] = "PERSONAL-DATA-MARKER-7f3a9";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Writes rows holding the marker, overwrites one and deletes the others, checkpoints the WAL
// into the file and returns whether the marker is still anywhere in the file.
bool MarkerLeftAfterErasure(bool secure_delete) {
  dorset::testing::TempDir dir;
  const std::string path = dir.File("store.db");
  if (!secure_delete) {
    // The control: the same rows and erasure through a connection with secure_delete OFF.
    absl::StatusOr<std::unique_ptr<runtime::sqlite::Database>> db =
        runtime::sqlite::Database::Open(path);
    EXPECT_TRUE(db.ok()) << db.status();
    if (!db.ok()) return false;
    std::string sql =
        "PRAGMA secure_delete=OFF; CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, note "
        "TEXT);";
    for (int id = 1; id <= 20; ++id) {
      absl::StrAppend(&sql, "INSERT INTO item VALUES (", id, ", 'n", id, "', '", kMarker, "');");
    }
    absl::StrAppend(&sql, "UPDATE item SET note = '' WHERE id = 1; DELETE FROM item WHERE id > 1;");
    EXPECT_TRUE((*db)->Exec(sql).ok());
  } else {
    absl::StatusOr<DatabaseUrl> url = ParseDatabaseUrl("sqlite://" + path, "", "");
    EXPECT_TRUE(url.ok()) << url.status();
    absl::StatusOr<std::unique_ptr<Database>> db =
        OpenDatabase(*url, OpenSettings{.password = "", .sqlite_secure_delete = true},
                     migrations::StorageTestMigrations);
    EXPECT_TRUE(db.ok()) << db.status();
    if (!db.ok()) return true;
    EXPECT_TRUE(
        (*db)
            ->Write([&](Transaction& tx) -> absl::Status {
              ASSIGN_OR_RETURN(Statement insert,
                               tx.Prepare("INSERT INTO item (id, name, note) VALUES (?, ?, ?)"));
              for (int64_t id = 1; id <= 20; ++id) {
                insert.Reset();
                RETURN_IF_ERROR(
                    insert.Bind(1, id).Bind(2, absl::StrCat("n", id)).Bind(3, kMarker).Run());
              }
              return absl::OkStatus();
            })
            .ok());
    EXPECT_TRUE((*db)
                    ->Write([&](Transaction& tx) -> absl::Status {
                      RETURN_IF_ERROR(tx.Exec("UPDATE item SET note = '' WHERE id = 1"));
                      return tx.Exec("DELETE FROM item WHERE id > 1");
                    })
                    .ok());
  }
  // Every page image into the file, the WAL emptied (as engagement does after an erasure).
  absl::StatusOr<std::unique_ptr<runtime::sqlite::Database>> raw =
      runtime::sqlite::Database::Open(path);
  EXPECT_TRUE(raw.ok()) << raw.status();
  if (raw.ok()) {
    EXPECT_TRUE((*raw)->Exec("PRAGMA wal_checkpoint(TRUNCATE)").ok());
  }
  const std::string bytes = ReadFile(path) + ReadFile(path + "-wal");
  return bytes.find(kMarker) != std::string::npos;
}

TEST(SqliteSecureDeleteTest, ErasedContentIsZeroedInTheFile) {
  EXPECT_FALSE(MarkerLeftAfterErasure(/*secure_delete=*/true));
}

TEST(SqliteSecureDeleteTest, WithSecureDeleteOffTheOldBytesStay) {
  // The control: shows the check above can fail.
  EXPECT_TRUE(MarkerLeftAfterErasure(/*secure_delete=*/false));
}

}  // namespace
}  // namespace dorset::runtime::storage
