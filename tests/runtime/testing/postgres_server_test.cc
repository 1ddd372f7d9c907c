// The PostgreSQL harness's shared mode (runtime/testing/postgres_server.h): what scripts/test's
// one server per run relies on. Processes attached to the run's server get databases of their
// own, named after the process, which go when the process is done; none of them can kill it.
#include "runtime/testing/postgres_server.h"

#include <libpq-fe.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/runtime/storage/engines.h"

namespace dorset::testing {
namespace {

// How many databases on the server at `port` are called `name`.
int DatabasesNamed(int port, const std::string& name) {
  const std::string conninfo =
      absl::StrCat("host=127.0.0.1 port=", port, " user=postgres dbname=postgres sslmode=disable");
  PGconn* conn = PQconnectdb(conninfo.c_str());
  int count = -1;
  if (PQstatus(conn) == CONNECTION_OK) {
    const char* params[] = {name.c_str()};
    PGresult* result = PQexecParams(conn, "SELECT count(*) FROM pg_database WHERE datname = $1", 1,
                                    nullptr, params, nullptr, nullptr, 0);
    if (PQresultStatus(result) == PGRES_TUPLES_OK) count = std::stoi(PQgetvalue(result, 0, 0));
    PQclear(result);
  }
  PQfinish(conn);
  return count;
}

std::string DatabaseOf(const std::string& uri) {
  return uri.substr(uri.rfind('/') + 1, uri.find('?') - uri.rfind('/') - 1);
}

TEST(PostgresHarness, AttachedProcessesHaveTheirOwnDatabasesDroppedWhenDone) {
  DORSET_REQUIRE_POSTGRES(PostgresServer::Start(), run);
  absl::StatusOr<std::unique_ptr<PostgresServer>> one =
      PostgresServer::Attach(std::to_string(run->port()));
  ASSERT_TRUE(one.ok()) << one.status();
  absl::StatusOr<std::unique_ptr<PostgresServer>> two =
      PostgresServer::Attach(std::to_string(run->port()));
  ASSERT_TRUE(two.ok()) << two.status();

  absl::StatusOr<std::string> a = (*one)->CreateDatabase();
  absl::StatusOr<std::string> b = (*two)->CreateDatabase();
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_NE(DatabaseOf(*a), DatabaseOf(*b));  // the two do not meet
  EXPECT_TRUE(absl::StartsWith(DatabaseOf(*a), absl::StrCat("test_", getpid(), "_")))
      << DatabaseOf(*a);
  EXPECT_EQ(DatabasesNamed(run->port(), DatabaseOf(*a)), 1);

  one->reset();  // as at the process's exit
  EXPECT_EQ(DatabasesNamed(run->port(), DatabaseOf(*a)), 0);
  EXPECT_EQ(DatabasesNamed(run->port(), DatabaseOf(*b)), 1);
  EXPECT_TRUE(run->running());  // the run's server stays for everyone else
  two->reset();
  EXPECT_EQ(DatabasesNamed(run->port(), DatabaseOf(*b)), 0);
}

TEST(PostgresHarness, AnAttachedProcessCannotKillOrRestartTheRunsServer) {
  DORSET_REQUIRE_POSTGRES(PostgresServer::Start(), run);
  absl::StatusOr<std::unique_ptr<PostgresServer>> attached =
      PostgresServer::Attach(std::to_string(run->port()));
  ASSERT_TRUE(attached.ok()) << attached.status();
  EXPECT_DEATH((*attached)->Kill9(), "must use PostgresServer::Start");
  EXPECT_DEATH((*attached)->Stop(), "must use PostgresServer::Start");
  EXPECT_DEATH((void)(*attached)->Restart(), "must use PostgresServer::Start");
  EXPECT_EQ(PostgresServer::Attach("not-a-port").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dorset::testing
