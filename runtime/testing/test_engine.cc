// DORSET_TEST_ENGINE: one database per data directory on the shared PostgreSQL (test_engine.h).
#include "runtime/testing/test_engine.h"

#include <cstdlib>
#include <map>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "runtime/status/status_macros.h"
#include "runtime/testing/postgres_server.h"

namespace dorset::testing {

bool TestEngineIsPostgres() {
  const char* engine = std::getenv("DORSET_TEST_ENGINE");
  return engine != nullptr && std::string(engine) == "postgres";
}

std::string TestEngineName() { return TestEngineIsPostgres() ? "postgres" : "sqlite"; }

absl::StatusOr<std::string> TestDatabaseFor(const std::string& data_dir) {
  if (!TestEngineIsPostgres()) return std::string();
  static absl::Mutex mu;
  static auto* databases ABSL_GUARDED_BY(mu) = new std::map<std::string, std::string>();
  absl::MutexLock lock(&mu);
  auto it = databases->find(data_dir);
  if (it != databases->end()) return it->second;
  ASSIGN_OR_RETURN(PostgresServer * server, PostgresServer::Shared());
  ASSIGN_OR_RETURN(std::string uri, server->CreateDatabase());
  (*databases)[data_dir] = uri;
  return uri;
}

}  // namespace dorset::testing
