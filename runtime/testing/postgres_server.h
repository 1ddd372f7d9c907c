// A real PostgreSQL 15 for tests, as redis_server.h is for Redis: a cluster in a temp dir
// (copied from a template that the machine's first start makes with initdb), the server on a
// free port of 127.0.0.1 (fsync on, so a kill -9 loses no committed row), one fresh database per
// test, and the faults: Kill9 (the server and its backends, as a crash), Stop (fast shutdown)
// and Restart on the same port and data. As root the server runs as the `postgres` user
// (PostgreSQL refuses root). Everything goes when the object goes.
//
//   ASSIGN_OR_RETURN(PostgresServer* pg, PostgresServer::Shared());  // one per test process/run
//   ASSIGN_OR_RETURN(std::string uri, pg->CreateDatabase());  // postgres://...:P/test_1
//   pg->Kill9();
//   ASSERT_TRUE(pg->Restart().ok());
//
// ctest runs every test case in a process of its own, so a server per process costs a cluster
// copy, a start and a shutdown per case. scripts/test therefore starts one server for the whole
// run (dorset-test-postgres, shared_postgres_main.cc) and exports its port in
// DORSET_TEST_POSTGRES_PORT; Shared() then attaches to it, and its databases are named after the
// process so that cases running side by side never meet. A test that kills, stops or restarts its
// server, or makes cluster-wide roles, uses Start() for a server of its own.
//
// Tests that cannot find PostgreSQL skip locally but fail under CI=true: see
// DORSET_REQUIRE_POSTGRES in tests/runtime/storage/engines.h.
#ifndef DORSET_RUNTIME_TESTING_POSTGRES_SERVER_H_
#define DORSET_RUNTIME_TESTING_POSTGRES_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "runtime/testing/temp_dir.h"

namespace dorset::testing {

class PostgresServer {
 public:
  // The one role that must authenticate with a password (scram-sha-256); every other
  // connection from 127.0.0.1 is trusted. Create it with Sql(): CREATE ROLE ... PASSWORD '...'.
  static constexpr const char* kPasswordRole = "password_user";

  // initdb and start a server of its own (for tests that kill it).
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start();
  // The process's shared server: the run's server when DORSET_TEST_POSTGRES_PORT names one (its
  // databases dropped at exit), otherwise one started on first use and stopped at exit.
  static absl::StatusOr<PostgresServer*> Shared();
  // A server someone else runs on 127.0.0.1:`port` (what Shared() does with the variable): this
  // object owns only the databases it creates, and drops them when it goes.
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Attach(const std::string& port);
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  int port() const { return port_; }
  // Creates an empty database and returns its libpq URI (user postgres, no password).
  absl::StatusOr<std::string> CreateDatabase();
  // Runs SQL as the superuser in database `dbname` (test setup: roles, grants).
  absl::Status Sql(const std::string& dbname, const std::string& sql);

  // SIGKILL to the postmaster and every backend: the crash case. Kill9, Stop and Restart abort
  // on a server this process only attached to (other processes' tests are using it).
  void Kill9();
  // Fast shutdown (SIGINT), waiting for it to finish.
  void Stop();
  // Starts again on the same port with the same data (crash recovery after Kill9).
  absl::Status Restart();
  bool running() const { return pid_ > 0; }

  struct RunAs;  // the account PostgreSQL's programs run as (postgres_server.cc)

 private:
  PostgresServer() = default;
  void AbortIfAttached(const char* what) const;
  void DropCreatedDatabases();
  absl::Status InitDb();
  absl::Status InitTemplate(const std::string& cluster, const RunAs& as);
  // Runs a program to its end; its output goes to the server log.
  absl::Status Run(const std::vector<std::string>& argv, const RunAs& as, const std::string& what);
  absl::Status Launch();

  TempDir dir_;
  std::string data_;
  std::string log_;
  int port_ = 0;
  pid_t pid_ = -1;
  bool attached_ = false;
  std::string db_prefix_ = "test_";  // on an attached server: test_<pid>_<start time>_
  absl::Mutex mu_;
  int next_db_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> created_ ABSL_GUARDED_BY(mu_);  // attached: dropped at exit
};

// Where PostgreSQL's programs are: $DORSET_POSTGRES_BIN or /usr/lib/postgresql/15/bin.
std::string PostgresBinDir();

}  // namespace dorset::testing

#endif  // DORSET_RUNTIME_TESTING_POSTGRES_SERVER_H_
