// Test support for the storage lane: open a database on either engine with the lane's test
// migrations, and require the PostgreSQL harness (skip locally without it, fail under CI=true).
//
//   TEST_P(StorageContract, Works) {  // a TestWithParam<Engine>
//     DORSET_REQUIRE_POSTGRES(testing::PostgresServer::Shared(), pg);
//     absl::StatusOr<std::unique_ptr<Database>> db = OpenUrl(*pg->CreateDatabase());
//   }
#ifndef DORSET_TESTS_RUNTIME_STORAGE_ENGINES_H_
#define DORSET_TESTS_RUNTIME_STORAGE_ENGINES_H_

#include <cstdlib>
#include <memory>
#include <ostream>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "runtime/storage/database.h"
#include "runtime/storage/database_url.h"
#include "runtime/storage/open.h"
#include "runtime/testing/postgres_server.h"
#include "runtime/testing/temp_dir.h"
#include "storage_test_migrations.h"

namespace dorset::runtime::storage {

inline bool InCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

// The PostgreSQL harness, or a skip (a failure under CI=true). Use with ASSERT_NO_FATAL_FAILURE
// and then `if (IsSkipped()) return;`.
#define DORSET_REQUIRE_POSTGRES(server_expr, out)                                      \
  auto out##_or = (server_expr);                                                       \
  if (!out##_or.ok()) {                                                                \
    if (::dorset::runtime::storage::InCi()) FAIL() << out##_or.status();               \
    GTEST_SKIP() << "no PostgreSQL (" << out##_or.status() << "); CI=true would fail"; \
  }                                                                                    \
  auto& out = *out##_or

// The database a test of `engine` opens: on PostgreSQL `target` becomes the URI of a fresh
// database on the shared harness (a skip without it, a failure under CI=true); on SQLite it keeps
// what the caller gave it ("" is the service's own file under its data directory). In SetUp or a
// test body, like the ASSERT_* it expands to.
//   std::string database;                              // or "sqlite://" + dir_.File("x.db")
//   DORSET_DATABASE_FOR_ENGINE(GetParam(), database);
#define DORSET_DATABASE_FOR_ENGINE(engine, target)                                   \
  if ((engine) == ::dorset::runtime::storage::Engine::kPostgres) {                   \
    DORSET_REQUIRE_POSTGRES(::dorset::testing::PostgresServer::Shared(), dorset_pg); \
    absl::StatusOr<std::string> dorset_pg_uri = dorset_pg->CreateDatabase();         \
    ASSERT_TRUE(dorset_pg_uri.ok()) << dorset_pg_uri.status();                       \
    (target) = *std::move(dorset_pg_uri);                                            \
  }

// Test names and ctest show the engine by name ("sqlite", "postgres"), not as bytes.
inline void PrintTo(Engine engine, std::ostream* out) { *out << EngineName(engine); }

// Opens `url` with the test migrations (all of them, or the first `steps`).
inline absl::StatusOr<std::unique_ptr<Database>> OpenUrl(const std::string& url, int steps = -1,
                                                         DatabaseOptions options = {}) {
  if (url.empty()) return absl::InvalidArgumentError("no database url");
  absl::StatusOr<DatabaseUrl> parsed = ParseDatabaseUrl(url, "", "");
  if (!parsed.ok()) return parsed.status();
  const Engine engine =
      parsed->kind == DatabaseUrl::Kind::kSqlite ? Engine::kSqlite : Engine::kPostgres;
  std::span<const Migration> all = migrations::StorageTestMigrations(engine);
  options.migrations = steps < 0 ? all : all.first(steps);
  return OpenDatabase(*parsed, {}, nullptr, options);
}

}  // namespace dorset::runtime::storage

#endif  // DORSET_TESTS_RUNTIME_STORAGE_ENGINES_H_
