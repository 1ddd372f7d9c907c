#include "runtime/testing/postgres_server.h"

#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "runtime/testing/redis_server.h"

namespace dorset::testing {

// The account the server runs as: `postgres` when we are root, ourselves otherwise.
struct PostgresServer::RunAs {
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
};
using RunAs = PostgresServer::RunAs;

namespace {

absl::StatusOr<RunAs> ServerAccount() {
  RunAs as;
  if (geteuid() != 0) return as;
  const passwd* pw = getpwnam("postgres");
  if (pw == nullptr) return absl::FailedPreconditionError("running as root and no postgres user");
  as.switch_user = true;
  as.uid = pw->pw_uid;
  as.gid = pw->pw_gid;
  return as;
}

// Forks and execs `argv` in a new process group, as `as`, output appended to `log`.
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv, const RunAs& as,
                            const std::string& log) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    setsid();  // Kill9 signals the whole group: postmaster and backends
    const int out = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (out >= 0) {
      dup2(out, STDOUT_FILENO);
      dup2(out, STDERR_FILENO);
    }
    if (as.switch_user &&
        (setgroups(0, nullptr) != 0 || setgid(as.gid) != 0 || setuid(as.uid) != 0)) {
      _exit(126);
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // after setuid, which clears it: no orphan servers
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

std::string ReadLog(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  return s.size() > 2000 ? s.substr(s.size() - 2000) : s;
}

std::string AdminConninfo(int port, const std::string& dbname) {
  return absl::StrCat("host=127.0.0.1 port=", port, " user=postgres dbname=", dbname,
                      " sslmode=disable connect_timeout=5");
}

}  // namespace

std::string PostgresBinDir() {
  const char* env = std::getenv("DORSET_POSTGRES_BIN");
  return env != nullptr ? env : "/usr/lib/postgresql/15/bin";
}

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Start() {
  if (!std::filesystem::exists(PostgresBinDir() + "/postgres")) {
    return absl::FailedPreconditionError(
        absl::StrCat("PostgreSQL 15 not found in ", PostgresBinDir(),
                     " (install postgresql-15: scripts/lib/install-deps.sh)"));
  }
  std::unique_ptr<PostgresServer> server(new PostgresServer());  // private constructor
  server->data_ = server->dir_.File("data");
  server->log_ = server->dir_.File("server.log");
  server->port_ = FreePort();
  if (absl::Status s = server->InitDb(); !s.ok()) return s;
  if (absl::Status s = server->Launch(); !s.ok()) return s;
  return server;
}

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Attach(const std::string& port) {
  std::unique_ptr<PostgresServer> server(new PostgresServer());  // private constructor
  if (!absl::SimpleAtoi(port, &server->port_) || server->port_ <= 0 || server->port_ > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("DORSET_TEST_POSTGRES_PORT is not a port: \"", port, "\""));
  }
  server->attached_ = true;
  // Unique among the run's processes, also when a pid comes round again after a crash.
  server->db_prefix_ =
      absl::StrCat("test_", getpid(), "_", absl::ToUnixMicros(absl::Now()) % 1000000000, "_");
  if (PQping(AdminConninfo(server->port_, "postgres").c_str()) != PQPING_OK) {
    return absl::UnavailableError(
        absl::StrCat("no PostgreSQL on 127.0.0.1:", server->port_, " (DORSET_TEST_POSTGRES_PORT)"));
  }
  return server;
}

absl::StatusOr<PostgresServer*> PostgresServer::Shared() {
  static auto* shared = new absl::StatusOr<std::unique_ptr<PostgresServer>>([] {
    const char* port = std::getenv("DORSET_TEST_POSTGRES_PORT");
    return port != nullptr && *port != '\0' ? Attach(port) : Start();
  }());
  // Stopped at exit (its databases dropped, on the run's server), so no server or database
  // outlives the test binary (PDEATHSIG covers crashes).
  static const bool registered = [] {
    std::atexit([] {
      if (shared->ok()) (*shared)->reset();
    });
    return true;
  }();
  (void)registered;
  if (!shared->ok()) return shared->status();
  return shared->value().get();
}

// initdb is the slow part of a start (a second or more), and ctest runs each case in a process of
// its own: the first start on a machine builds a template cluster under a lock, and every start
// copies it (cp -a keeps the owner and modes PostgreSQL insists on).
absl::Status PostgresServer::InitDb() {
  absl::StatusOr<RunAs> as = ServerAccount();
  if (!as.ok()) return as.status();
  if (as->switch_user && chown(dir_.path().c_str(), as->uid, as->gid) != 0) {
    return absl::InternalError("chown of the test directory failed");
  }
  const std::string cluster = (std::filesystem::temp_directory_path() /
                               absl::StrCat("dorset-pg-template-", geteuid(), "-",
                                            std::hash<std::string>()(PostgresBinDir())))
                                  .string();
  const int lock = open((cluster + ".lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  if (lock < 0 || flock(lock, LOCK_EX) != 0) {
    if (lock >= 0) close(lock);
    return absl::InternalError(absl::StrCat("cannot lock ", cluster, ".lock"));
  }
  absl::Status status = absl::OkStatus();
  if (!std::filesystem::exists(cluster + "/global/pg_control")) {
    status = InitTemplate(cluster, *as);
  }
  if (status.ok()) status = Run({"/bin/cp", "-a", cluster, data_}, RunAs{}, "cp -a");
  close(lock);  // releases the flock
  return status;
}

absl::Status PostgresServer::InitTemplate(const std::string& cluster, const RunAs& as) {
  const std::string building = cluster + ".building";
  std::error_code ignored;
  std::filesystem::remove_all(building, ignored);
  // -N: no fsync during initdb (a test cluster); the server itself runs with fsync=on.
  absl::Status status = Run({PostgresBinDir() + "/initdb", "-N", "-D", building, "-U", "postgres",
                             "--auth=trust", "-E", "UTF8", "--locale=C"},
                            as, "initdb");
  if (!status.ok()) return status;
  // Everyone is trusted except kPasswordRole, who must give a password (the first matching
  // line wins), so tests can check that database_password_file reaches the server.
  const std::string hba = building + "/pg_hba.conf";
  std::ifstream in(hba);
  std::stringstream rest;
  rest << in.rdbuf();
  in.close();
  std::ofstream out(hba, std::ios::trunc);  // rewritten in place: owner and mode stay
  out << "host all " << kPasswordRole << " 127.0.0.1/32 scram-sha-256\n" << rest.str();
  out.close();
  if (!out) return absl::InternalError("cannot write pg_hba.conf");
  std::error_code renamed;
  std::filesystem::rename(building, cluster, renamed);  // whole or not at all
  if (renamed) return absl::InternalError(absl::StrCat("rename to ", cluster, " failed"));
  return absl::OkStatus();
}

absl::Status PostgresServer::Run(const std::vector<std::string>& argv, const RunAs& as,
                                 const std::string& what) {
  absl::StatusOr<pid_t> pid = Spawn(argv, as, log_);
  if (!pid.ok()) return pid.status();
  int status = 0;
  waitpid(*pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat(what, " failed: ", ReadLog(log_)));
  }
  return absl::OkStatus();
}

absl::Status PostgresServer::Launch() {
  absl::StatusOr<RunAs> as = ServerAccount();
  if (!as.ok()) return as.status();
  // max_connections: the run's shared server (scripts/test) serves two test processes at once.
  absl::StatusOr<pid_t> pid =
      Spawn({PostgresBinDir() + "/postgres", "-D", data_, "-p", std::to_string(port_), "-k",
             dir_.path(), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=on", "-c",
             "synchronous_commit=on", "-c", "max_connections=400", "-c", "shared_buffers=16MB"},
            *as, log_);
  if (!pid.ok()) return pid.status();
  pid_ = *pid;
  const std::string conninfo = AdminConninfo(port_, "postgres");
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline) {
    if (PQping(conninfo.c_str()) == PQPING_OK) return absl::OkStatus();
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::UnavailableError(absl::StrCat("postgres exited at start: ", ReadLog(log_)));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  Kill9();
  return absl::DeadlineExceededError("postgres did not accept connections within 60 s");
}

absl::Status PostgresServer::Sql(const std::string& dbname, const std::string& sql) {
  PGconn* conn = PQconnectdb(AdminConninfo(port_, dbname).c_str());
  absl::Status status;
  if (PQstatus(conn) != CONNECTION_OK) {
    status = absl::UnavailableError(PQerrorMessage(conn));
  } else {
    PQsetNoticeProcessor(
        conn, [](void*, const char*) {}, nullptr);
    PGresult* result = PQexec(conn, sql.c_str());
    if (PQresultStatus(result) != PGRES_COMMAND_OK && PQresultStatus(result) != PGRES_TUPLES_OK) {
      status = absl::InternalError(absl::StrCat(sql, ": ", PQerrorMessage(conn)));
    }
    PQclear(result);
  }
  PQfinish(conn);
  return status;
}

absl::StatusOr<std::string> PostgresServer::CreateDatabase() {
  std::string name;
  {
    absl::MutexLock lock(&mu_);
    name = absl::StrCat(db_prefix_, ++next_db_);
  }
  if (absl::Status s = Sql("postgres", "CREATE DATABASE " + name); !s.ok()) return s;
  if (attached_) {
    absl::MutexLock lock(&mu_);
    created_.push_back(name);
  }
  return absl::StrCat("postgres://postgres@127.0.0.1:", port_, "/", name, "?sslmode=disable");
}

// The run's server lives on after this process: what it made there goes (WITH (FORCE) ends the
// sessions a test left open), so a long run does not fill the disk with test databases.
void PostgresServer::DropCreatedDatabases() {
  std::vector<std::string> created;
  {
    absl::MutexLock lock(&mu_);
    created.swap(created_);
  }
  for (const std::string& name : created) {
    (void)Sql("postgres", absl::StrCat("DROP DATABASE IF EXISTS ", name, " WITH (FORCE)"));
  }
}

void PostgresServer::AbortIfAttached(const char* what) const {
  if (!attached_) return;
  std::fprintf(stderr,
               "PostgresServer::%s on the run's shared server (DORSET_TEST_POSTGRES_PORT): other "
               "tests use it; a test that %s its server must use PostgresServer::Start()\n",
               what, what);
  std::abort();
}

void PostgresServer::Kill9() {
  AbortIfAttached("Kill9");
  if (pid_ <= 0) return;
  kill(-pid_, SIGKILL);  // the group: backends die with the postmaster, as in a crash
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void PostgresServer::Stop() {
  AbortIfAttached("Stop");
  if (pid_ <= 0) return;
  kill(pid_, SIGINT);  // fast shutdown: ends sessions, checkpoints, exits
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  Kill9();
}

absl::Status PostgresServer::Restart() {
  AbortIfAttached("Restart");
  Stop();
  return Launch();
}

PostgresServer::~PostgresServer() {
  if (attached_) {
    DropCreatedDatabases();
  } else {
    Stop();
  }
}

}  // namespace dorset::testing
