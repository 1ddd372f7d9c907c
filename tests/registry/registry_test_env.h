// A registry running in-process for tests: temp store, optional real redis-server, loopback
// channel, and helpers to import files and make calls.
#ifndef DORSET_TESTS_REGISTRY_REGISTRY_TEST_ENV_H_
#define DORSET_TESTS_REGISTRY_REGISTRY_TEST_ENV_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dorset/registry/v1/registry.grpc.pb.h"
#include "runtime/server/service_host.h"
#include "runtime/testing/redis_server.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_host.h"
#include "services/registry/registry_module.h"

namespace dorset::registry::testing {

// Sets `config.database` for the engine this test run uses (runtime/testing/test_engine.h):
// "" on SQLite, the database of `config.data_dir` on PostgreSQL.
absl::Status UseTestEngine(runtime::ServerConfig& config);

namespace v1 = dorset::registry::v1;

// The contents of a file under the source tree (e.g. "data/ods/epraccur-2025-05.csv").
std::string SourceFile(const std::string& relative);

struct EnvOptions {
  bool redis = false;
};

class RegistryEnv {
 public:
  // `data_dir`: serve this directory (e.g. a store the test prepared) instead of a fresh one.
  // `tokens`: callers with bearer tokens (auth "tokens"); none: auth "none" (everyone is
  // "anonymous").
  static std::unique_ptr<RegistryEnv> Start(
      EnvOptions options = {}, const std::string& data_dir = "",
      const std::vector<dorset::testing::TestToken>& tokens = {});
  ~RegistryEnv();

  v1::RegistryService::Stub& stub() { return *stub_; }
  std::shared_ptr<grpc::Channel> channel() { return channel_; }
  runtime::ServiceHost& host() { return *host_; }
  RegistryModule& module() { return *module_; }
  dorset::testing::RedisServer* redis() { return redis_.get(); }

  // Streams `content` to ImportFile.
  absl::StatusOr<v1::ImportReport> Import(v1::ImportKind kind, const std::string& content,
                                          const std::string& commissioner = "",
                                          const std::string& request_id = "",
                                          bool validate_only = false);
  // Localities, mapping, 11J epraccur and list sizes from data/; returns once the change
  // follower (if any) has read past them.
  void LoadDorset();
  // On PostgreSQL the change follower also reads this replica's own commits from the change
  // table and sweeps the caches again for them whenever its notification arrives (bumping the
  // generation and deleting the Redis keys filled since its last sweep): a test that counts
  // cache hits after writes waits here first, so that a late sweep cannot cut the count short.
  // Returns at once on SQLite (no follower).
  void WaitForTheChangeFollower();

  absl::StatusOr<v1::Practice> Get(const std::string& code);
  absl::StatusOr<v1::Practice> Create(const v1::Practice& practice,
                                      const std::string& request_id = "");

 private:
  RegistryEnv() = default;

  dorset::testing::TempDir dir_;
  std::unique_ptr<dorset::testing::RedisServer> redis_;
  RegistryModule* module_ = nullptr;
  std::unique_ptr<runtime::ServiceHost> host_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::RegistryService::Stub> stub_;
};

// A valid new practice (not in the ODS files) for API tests.
v1::Practice NewPractice(const std::string& code, const std::string& name = "TEST SURGERY");

}  // namespace dorset::registry::testing

#endif  // DORSET_TESTS_REGISTRY_REGISTRY_TEST_ENV_H_
