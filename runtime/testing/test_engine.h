// The engine a whole test binary runs its services on, for tests registered twice by ctest (a
// …/sqlite and a …/postgres copy of every case, labels `sqlite` and `postgres`; see
// tests/registry/CMakeLists.txt): the environment variable DORSET_TEST_ENGINE=postgres makes
// every store a test opens a fresh database on the shared PostgreSQL harness
// (postgres_server.h); unset or `sqlite` keeps SQLite files under the data directory.
//
//   config.database = *TestDatabaseFor(config.data_dir);  // "" on SQLite
#ifndef DORSET_RUNTIME_TESTING_TEST_ENGINE_H_
#define DORSET_RUNTIME_TESTING_TEST_ENGINE_H_

#include <string>

#include "absl/status/statusor.h"

namespace dorset::testing {

// True when DORSET_TEST_ENGINE=postgres.
bool TestEngineIsPostgres();
// "sqlite" or "postgres".
std::string TestEngineName();

// The `database` setting for a service whose data directory is `data_dir`: "" on SQLite; on
// PostgreSQL a database created for that directory on first use and the same one afterwards
// (so a service restarted on the same directory finds its data). An error when PostgreSQL
// cannot be started.
absl::StatusOr<std::string> TestDatabaseFor(const std::string& data_dir);

}  // namespace dorset::testing

#endif  // DORSET_RUNTIME_TESTING_TEST_ENGINE_H_
