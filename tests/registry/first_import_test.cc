// The first import into an empty store (issue 16): on PostgreSQL its transaction drops
// practice's secondary indexes and the revisions' foreign key; it adds the key again before it
// commits and the indexes are built right after, before the reply (write_tx_first_import.cc).
// The store must come out exactly as the migrations made it, with the same rows, feed and
// revisions as any import writes, on both engines.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "registry_migrations.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/database_url.h"
#include "runtime/storage/open.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_engine.h"
#include "services/registry/storage/store.h"
#include "tests/registry/registry_test_env.h"

namespace dorset::registry::testing {
namespace {

namespace storage = runtime::storage;

absl::StatusOr<std::unique_ptr<storage::Database>> OpenAt(const std::string& data_dir) {
  ASSIGN_OR_RETURN(std::string database, dorset::testing::TestDatabaseFor(data_dir));
  ASSIGN_OR_RETURN(storage::DatabaseUrl url,
                   storage::ParseDatabaseUrl(database, data_dir, "registry"));
  return storage::OpenDatabase(url, {}, migrations::RegistryMigrations);
}

// Each row of `sql` as its `columns` columns joined by '|'.
std::vector<std::string> Rows(storage::Database& db, const std::string& sql, int columns = 1) {
  std::vector<std::string> rows;
  absl::Status read = db.Read([&](storage::Transaction& tx) -> absl::Status {
    rows.clear();
    ASSIGN_OR_RETURN(storage::Statement stmt, tx.Prepare(sql));
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      std::string line;
      for (int i = 0; i < columns; ++i) {
        if (i > 0) line += '|';
        line += stmt.Text(i);
      }
      rows.push_back(line);
    }
    return absl::OkStatus();
  });
  EXPECT_TRUE(read.ok()) << read;
  return rows;
}

// The changes whose payload is not exactly the Change its columns and its practice's stored
// bytes serialize to (as SavePractices makes it, or on PostgreSQL the server from the practice
// rows), of `checked` rows joined to a practice.
int PayloadsNotAsTheirColumns(storage::Database& db, int& checked) {
  int wrong = 0;
  absl::Status read = db.Read([&](storage::Transaction& tx) -> absl::Status {
    wrong = 0;
    checked = 0;
    ASSIGN_OR_RETURN(storage::Statement stmt,
                     tx.Prepare("SELECT c.kind, c.resource, c.commit_time, c.source, c.payload, "
                                "p.data FROM change c JOIN practice p ON c.resource = "
                                "'practices/' || p.ods_code ORDER BY c.seq"));
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      ++checked;
      v1::Change change;
      change.set_kind(static_cast<v1::Change::Kind>(stmt.Int(0)));
      change.set_resource(stmt.Text(1));
      *change.mutable_commit_time() =
          google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(stmt.Int(2));
      change.set_source(stmt.Text(3));
      if (!change.mutable_practice()->ParseFromString(stmt.Blob(5)) ||
          change.SerializeAsString() != stmt.Blob(4)) {
        ++wrong;
      }
    }
    return absl::OkStatus();
  });
  EXPECT_TRUE(read.ok()) << read;
  return wrong;
}

// The definitions of practice's and practice_revision's indexes and constraints.
std::vector<std::string> Schema(storage::Database& db) {
  if (db.engine() == storage::Engine::kSqlite) {
    return Rows(db,
                "SELECT name, COALESCE(sql, '') FROM sqlite_master WHERE tbl_name IN "
                "('practice', 'practice_revision') ORDER BY name",
                2);
  }
  std::vector<std::string> schema =
      Rows(db,
           "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('practice', "
           "'practice_revision') ORDER BY indexname",
           2);
  for (std::string& c :
       Rows(db,
            "SELECT conname, pg_get_constraintdef(oid), convalidated::text FROM pg_constraint "
            "WHERE conrelid IN ('practice'::regclass, 'practice_revision'::regclass) "
            "ORDER BY conname",
            3)) {
    schema.push_back(std::move(c));
  }
  return schema;
}

TEST(FirstImport, AnEmptyStoreKeepsItsSchemaAndGetsEveryRowFeedAndRevision) {
  dorset::testing::TempDir dir;
  std::vector<std::string> before;
  {
    auto db = OpenAt(dir.path());
    ASSERT_TRUE(db.ok()) << db.status();
    before = Schema(**db);
  }
  ASSERT_FALSE(before.empty());
  // The national extract and, in a later batch, its first line again.
  std::string file = SourceFile("data/ods/epraccur-2025-05.csv");
  const std::string first_line = file.substr(0, file.find('\n') + 1);
  const std::string first_code = file.substr(1, file.find('"', 1) - 1);
  file += first_line;
  {
    auto env = RegistryEnv::Start({}, dir.path());
    ASSERT_NE(env, nullptr);
    // validate_only rolls back: nothing written, the schema as it was.
    auto checked = env->Import(v1::IMPORT_KIND_EPRACCUR, file, "all", "", /*validate_only=*/true);
    ASSERT_TRUE(checked.ok()) << checked.status();
    EXPECT_EQ(checked->added(), 16534);
    auto report = env->Import(v1::IMPORT_KIND_EPRACCUR, file, "all");
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_EQ(report->rows_read(), 16535);
    EXPECT_EQ(report->added(), 16534);
    ASSERT_EQ(report->rejected(), 1);
    EXPECT_EQ(report->rejections(0).line(), 16535);
    EXPECT_EQ(report->rejections(0).reason(), "duplicate code (first at line 1)");
    EXPECT_EQ(report->last_sequence() - report->first_sequence() + 1, 16534);
    // A second import of the same file writes nothing (the ordinary path: the store is full).
    auto again = env->Import(v1::IMPORT_KIND_EPRACCUR, file, "all");
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(again->unchanged(), 16534);
    EXPECT_EQ(again->added() + again->changed(), 0);
    EXPECT_EQ(again->first_sequence(), 0);
    auto practice = env->Get(first_code);
    ASSERT_TRUE(practice.ok()) << practice.status();
  }
  auto db = OpenAt(dir.path());
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(Schema(**db), before);
  // One revision per practice, revision 1, pointing at its own creation in the feed.
  EXPECT_EQ(Rows(**db,
                 "SELECT COUNT(*), SUM(CASE WHEN r.revision = 1 AND p.revision = 1 AND c.kind = "
                 "(SELECT kind FROM change ORDER BY seq DESC LIMIT 1) AND c.resource = "
                 "'practices/' || p.ods_code THEN 1 ELSE 0 END) FROM practice p JOIN "
                 "practice_revision r ON r.ods_code = p.ods_code JOIN change c ON c.seq = r.seq",
                 2),
            std::vector<std::string>{"16534|16534"});
  // Every change's payload is its Change with its practice's stored bytes.
  int checked = 0;
  EXPECT_EQ(PayloadsNotAsTheirColumns(**db, checked), 0);
  EXPECT_EQ(checked, 16534);
  EXPECT_EQ(Rows(**db, "SELECT COUNT(*), MIN(seq), MAX(seq) FROM change", 3),
            Rows(**db, "SELECT COUNT(*), MIN(seq), MAX(seq) FROM practice_revision", 3));
  EXPECT_EQ(Rows(**db, "SELECT COUNT(*) FROM import_seen"), std::vector<std::string>{"0"});
  EXPECT_EQ(Rows(**db, "SELECT COUNT(*) FROM practice WHERE locality_id IS NOT NULL"),
            std::vector<std::string>{"0"});
  if (db.value()->engine() == storage::Engine::kPostgres) {
    // The foreign key is enforced again: a revision without its change is refused.
    absl::Status orphan = (*db)->Write([](storage::Transaction& tx) {
      return tx.Exec(
          "INSERT INTO practice_revision (ods_code, revision, seq) VALUES ('X99999', 1, "
          "999999999)");
    });
    EXPECT_FALSE(orphan.ok());
    // Every index is valid and ready, and none is left listed to build.
    EXPECT_EQ(Rows(**db,
                   "SELECT COUNT(*) FROM pg_index WHERE indrelid = 'practice'::regclass AND NOT "
                   "(indisvalid AND indisready)"),
              std::vector<std::string>{"0"});
    EXPECT_EQ(Rows(**db, "SELECT COUNT(*) FROM import_deferred_index"),
              std::vector<std::string>{"0"});
  }
}

// PostgreSQL: a first import killed after its commit, before its indexes were built, leaves
// them listed in import_deferred_index; the next start of the store builds them, exactly as they
// were, and empties the list. (The kill itself is not timed here: the state it leaves is made.)
TEST(FirstImport, AStartBuildsTheIndexesAKilledFirstImportLeftListed) {
  dorset::testing::TempDir dir;
  absl::StatusOr<std::string> database = dorset::testing::TestDatabaseFor(dir.path());
  ASSERT_TRUE(database.ok()) << database.status();
  std::vector<std::string> before;
  {
    auto db = OpenAt(dir.path());
    ASSERT_TRUE(db.ok()) << db.status();
    // SQLite rebuilds its two deferred indexes inside the import's transaction: none is listed.
    if ((*db)->engine() != storage::Engine::kPostgres) return;
    before = Schema(**db);
    // What the import's transaction commits: the indexes dropped and listed (two of them here,
    // one already built again, as by a start that died before it emptied the list).
    absl::Status killed = (*db)->Write([](storage::Transaction& tx) -> absl::Status {
      RETURN_IF_ERROR(tx.Exec("DROP INDEX practice_by_name_trigram"));
      RETURN_IF_ERROR(tx.Exec("DROP INDEX practice_by_postcode"));
      RETURN_IF_ERROR(tx.Exec(
          "INSERT INTO import_deferred_index (name, position, definition) SELECT name, n, "
          "definition FROM (VALUES ('practice_by_name_trigram', 0, 'CREATE INDEX IF NOT EXISTS "
          "practice_by_name_trigram ON public.practice USING gin (lower(display_name) "
          "gin_trgm_ops) WITH (fastupdate=''on'')'), ('practice_by_postcode', 1, 'CREATE INDEX "
          "IF NOT EXISTS practice_by_postcode ON public.practice USING btree (postcode_key, "
          "ods_code)'), ('practice_by_status', 2, 'CREATE INDEX IF NOT EXISTS practice_by_status "
          "ON public.practice USING btree (status, ods_code)')) AS v(name, n, definition)"));
      return absl::OkStatus();
    });
    ASSERT_TRUE(killed.ok()) << killed;
    EXPECT_NE(Schema(**db), before);
  }
  {
    auto store = Store::Open(*database, dir.path());
    ASSERT_TRUE(store.ok()) << store.status();
  }
  auto db = OpenAt(dir.path());
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(Schema(**db), before);
  EXPECT_EQ(Rows(**db, "SELECT COUNT(*) FROM import_deferred_index"),
            std::vector<std::string>{"0"});
}

// A bulk write asks once whether there are any locality assignments, and reads a batch's only
// while there are (WriteTx::AssignedLocalities). With the Dorset mapping loaded first, the
// national first import gives exactly the mapped practices their locality, in whichever batch
// they come; without one (the test above), none.
TEST(FirstImport, AfterTheLocalityMappingTheMappedPracticesGetTheirLocalities) {
  dorset::testing::TempDir dir;
  {
    auto env = RegistryEnv::Start({}, dir.path());
    ASSERT_NE(env, nullptr);
    auto localities =
        env->Import(v1::IMPORT_KIND_LOCALITIES, SourceFile("data/dorset/localities.csv"));
    ASSERT_TRUE(localities.ok()) << localities.status();
    auto mapping = env->Import(v1::IMPORT_KIND_PRACTICE_LOCALITIES,
                               SourceFile("data/dorset/practice-localities.csv"));
    ASSERT_TRUE(mapping.ok()) << mapping.status();
    ASSERT_EQ(mapping->added(), 139);
    auto report =
        env->Import(v1::IMPORT_KIND_EPRACCUR, SourceFile("data/ods/epraccur-2025-05.csv"), "all");
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_EQ(report->added(), 16534);
  }
  auto db = OpenAt(dir.path());
  ASSERT_TRUE(db.ok()) << db.status();
  // Every practice with a locality is mapped to it, and every mapped practice has it.
  EXPECT_EQ(Rows(**db,
                 "SELECT COUNT(*) FROM practice p JOIN locality_assignment a ON a.ods_code = "
                 "p.ods_code AND a.locality_id = p.locality_id"),
            std::vector<std::string>{"139"});
  EXPECT_EQ(Rows(**db, "SELECT COUNT(*) FROM practice WHERE locality_id IS NOT NULL"),
            std::vector<std::string>{"139"});
}

// Issue 16: an import keeps the keys it has seen in memory up to WriteTx::kSeenMemoryBytes, then
// moves them all to import_seen for the rest of the import (write_tx_seen.cc). With a budget of
// ~375 codes they move in the second batch: a duplicate is named by its first line before the
// move (read from memory) and after it (from the table), on a first import and on the next
// (whose practices are all stored), and the table is empty after each.
TEST(FirstImport, DuplicatesAreFoundTheSameWhenTheKeysSeenMoveToTheTable) {
  dorset::testing::TempDir dir;
  const std::vector<std::string> lines =
      absl::StrSplit(SourceFile("data/ods/epraccur-2025-05.csv"), '\n', absl::SkipEmpty());
  ASSERT_GT(lines.size(), 600u);
  std::string file;
  for (int i = 0; i < 600; ++i) {
    file += lines[i] + "\n";
    if (i == 299) file += lines[1] + "\n";  // line 301: the second batch, before the move
  }
  file += lines[1] + "\n";  // line 602: the third batch, after it
  {
    auto env = RegistryEnv::Start({}, dir.path());
    ASSERT_NE(env, nullptr);
    WriteTx::SetSeenMemoryBytesForTest(30000);
    auto report = env->Import(v1::IMPORT_KIND_EPRACCUR, file, "all");
    auto again = env->Import(v1::IMPORT_KIND_EPRACCUR, file, "all");
    WriteTx::SetSeenMemoryBytesForTest(0);
    for (const auto* r : {&report, &again}) {
      ASSERT_TRUE(r->ok()) << r->status();
      ASSERT_EQ((*r)->rejected(), 2);
      for (int i = 0; i < 2; ++i) {
        EXPECT_EQ((*r)->rejections(i).line(), i == 0 ? 301 : 602);
        EXPECT_EQ((*r)->rejections(i).reason(), "duplicate code (first at line 2)");
      }
    }
    EXPECT_EQ(report->added(), 600);
    EXPECT_EQ(again->unchanged(), 600);
  }
  auto db = OpenAt(dir.path());
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(Rows(**db, "SELECT COUNT(*) FROM import_seen"), std::vector<std::string>{"0"});
  EXPECT_EQ(Rows(**db, "SELECT COUNT(*) FROM practice_revision"), std::vector<std::string>{"600"});
}

}  // namespace
}  // namespace dorset::registry::testing
