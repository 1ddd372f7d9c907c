// Replicas of the real service binaries for the replica tests (issue 13): several processes of
// one service on their own ports and data directories, sharing one PostgreSQL database, one
// redis-server and one page-token key file — as a Deployment's pods share them. A replica can be
// killed (SIGKILL), stopped (SIGTERM with drain) and started again on the same port.
#ifndef DORSET_TESTS_REPLICAS_REPLICA_SET_H_
#define DORSET_TESTS_REPLICAS_REPLICA_SET_H_

#include <signal.h>

#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "runtime/testing/postgres_server.h"
#include "runtime/testing/redis_server.h"
#include "runtime/testing/server_process.h"
#include "runtime/testing/temp_dir.h"

namespace dorset::replicas {

// Polls `done` every 20 ms until it holds or `timeout` passes (a generous bound, never a timed
// assertion); returns its last answer.
inline bool WaitFor(const std::function<bool()>& done, absl::Duration timeout = absl::Seconds(60)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(20));
  return done();
}

// What every replica of every service shares: PostgreSQL (the process's shared test server),
// Redis and the page-token key.
class SharedBackends {
 public:
  static std::unique_ptr<SharedBackends> Start() {
    auto shared = std::unique_ptr<SharedBackends>(new SharedBackends());
    absl::StatusOr<dorset::testing::PostgresServer*> pg = dorset::testing::PostgresServer::Shared();
    if (!pg.ok()) {
      ADD_FAILURE() << pg.status();
      return nullptr;
    }
    shared->pg_ = *pg;
    absl::StatusOr<std::unique_ptr<dorset::testing::RedisServer>> redis =
        dorset::testing::RedisServer::Start();
    if (!redis.ok()) {
      ADD_FAILURE() << redis.status();
      return nullptr;
    }
    shared->redis_ = std::move(*redis);
    shared->key_file_ = shared->dir_.path() + "/page-token.key";
    std::ofstream(shared->key_file_) << "c2hhcmVkIGJ5IGV2ZXJ5IHJlcGxpY2Egb2YgdGhlIHNlcnZpY2U=\n";
    return shared;
  }
  // A fresh database for one service.
  std::string NewDatabase() {
    absl::StatusOr<std::string> uri = pg_->CreateDatabase();
    EXPECT_TRUE(uri.ok()) << uri.status();
    return uri.ok() ? *uri : "";
  }
  dorset::testing::RedisServer& redis() { return *redis_; }
  const std::string& key_file() const { return key_file_; }
  std::string NewDir(const std::string& name) {
    const std::string path = dir_.path() + "/" + name;
    std::filesystem::create_directories(path);
    return path;
  }

 private:
  SharedBackends() = default;
  dorset::testing::TempDir dir_;
  dorset::testing::PostgresServer* pg_ = nullptr;
  std::unique_ptr<dorset::testing::RedisServer> redis_;
  std::string key_file_;
};

// One replica: a service binary on a fixed port (kept across restarts) with its own data dir.
class Replica {
 public:
  Replica(std::string binary, std::string data_dir, std::string database,
          std::vector<std::string> flags)
      : binary_(std::move(binary)),
        data_dir_(std::move(data_dir)),
        database_(std::move(database)),
        flags_(std::move(flags)),
        port_(dorset::testing::FreePort()) {}

  void Start() {
    process_ = std::make_unique<dorset::testing::ServerProcess>(binary_, data_dir_, port_,
                                                                database_, flags_);
  }
  // SIGKILL (the crash case) and reaps it.
  void Kill9() {
    if (process_ != nullptr) process_->Signal(SIGKILL);
    process_.reset();
  }
  // SIGTERM: readiness NOT_SERVING, drain, in-flight calls finish, exit; waits for the exit and
  // returns the wait status.
  int Terminate() {
    int status = -1;
    if (process_ != nullptr) status = process_->Signal(SIGTERM);
    process_.reset();
    return status;
  }
  bool running() const { return process_ != nullptr; }
  int port() const { return port_; }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }
  const std::string& data_dir() const { return data_dir_; }
  // The last lines of the replica's own log (server.log in its data directory), for failure
  // messages: a replica that "did not come up" says why there.
  std::string LogTail(size_t bytes = 4000) const {
    std::ifstream in(data_dir_ + "/server.log");
    std::stringstream all;
    all << in.rdbuf();
    const std::string text = all.str();
    return text.size() > bytes ? text.substr(text.size() - bytes) : text;
  }

 private:
  std::string binary_, data_dir_, database_;
  std::vector<std::string> flags_;
  int port_;
  std::unique_ptr<dorset::testing::ServerProcess> process_;
};

// The standard flags of a replica over the shared backends.
inline std::vector<std::string> ReplicaFlags(SharedBackends& shared,
                                             std::vector<std::string> more = {}) {
  std::vector<std::string> flags = {"--redis=" + shared.redis().address(),
                                    "--page_token_key_file=" + shared.key_file()};
  flags.insert(flags.end(), more.begin(), more.end());
  return flags;
}

// A channel to one address.
inline std::shared_ptr<grpc::Channel> ChannelTo(const std::string& address) {
  return grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
}

// A channel over several replicas with gRPC's own round_robin policy (ipv4:a,b,c resolves to
// every address; the policy spreads calls over the ready ones and skips those that are down).
inline std::shared_ptr<grpc::Channel> RoundRobinChannel(const std::vector<std::string>& addresses) {
  grpc::ChannelArguments args;
  args.SetLoadBalancingPolicyName("round_robin");
  // Reconnect to a restarted replica quickly (the default backoff grows to 120 s).
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  return grpc::CreateCustomChannel(absl::StrCat("ipv4:", absl::StrJoin(addresses, ",")),
                                   grpc::InsecureChannelCredentials(), args);
}

}  // namespace dorset::replicas

#endif  // DORSET_TESTS_REPLICAS_REPLICA_SET_H_
