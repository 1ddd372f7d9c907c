// The Redis ACL of deploy/ (the dev overlay's users.acl, the file the Secret carries) against a
// real redis-server, and RedisCache authenticating as an ACL user (AUTH user password after
// each connect). Only the registry writes, and only its own keys: finance and engagement read
// those and cannot put anything (personal data included) into Redis (docs/cache-keys.md, policy
// rule 1) — their only writes are their own rate-limit counters; the shared-care reader reads the
// public registry keys and nothing else; a client without credentials can only PING.
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "bench/echo/echo_module.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "runtime/cache/redis_cache.h"
#include "runtime/logging/log.h"
#include "runtime/server/service_host.h"
#include "runtime/testing/redis_server.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_host.h"
#include "spdlog/sinks/ostream_sink.h"

namespace dorset::runtime {
namespace {

constexpr char kPrivateKey[] = "dorset:v1:engagement:private:stakeholder:42";
constexpr char kPublicKey[] = "dorset:v1:registry:practice:J81016";

std::string DevFile(const std::string& name) {
  std::ifstream in(std::string(DORSET_DEV_OVERLAY_DIR) + "/" + name);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

class RedisAclTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto redis = dorset::testing::RedisServer::Start(
        {"--aclfile", std::string(DORSET_DEV_OVERLAY_DIR) + "/redis-users.acl"});
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
  }

  // A cache as `user` with that user's dev password ("" = no AUTH).
  std::unique_ptr<RedisCache> CacheAs(const std::string& user, const std::string& password) {
    RedisOptions options;
    options.port = redis_->port();
    options.pool_size = 1;
    options.breaker_failures = 1000;  // every call reaches Redis: the ACL decides
    options.username = user;
    options.password = password;
    return std::make_unique<RedisCache>(options, &registry_);
  }
  std::unique_ptr<RedisCache> CacheAs(const std::string& user) {
    return CacheAs("dorset-" + user, DevFile("redis-password-" + user));
  }

  std::unique_ptr<dorset::testing::RedisServer> redis_;
  prometheus::Registry registry_;
};

// The sliding-window script's commands (EVAL, TIME, ZREMRANGEBYSCORE, ZCARD, ZADD, ZRANGE,
// PEXPIRE) are granted on each service's own rate-limit keys only.
TEST_F(RedisAclTest, EachServiceCountsOnlyItsOwnRateLimitsAndARefusedCountIsAskedOnce) {
  auto finance = CacheAs("finance");
  auto engagement = CacheAs("engagement");
  auto registry = CacheAs("registry");
  auto admitted = [](std::optional<Cache::Admission> a) -> std::optional<bool> {
    if (!a) return std::nullopt;
    return a->admitted;
  };
  const absl::Duration minute = absl::Seconds(60);
  // Each service counts under its own prefix, shared by all its replicas: a limit of 2.
  EXPECT_EQ(admitted(finance->AdmitInWindow("dorset:v1:ratelimit:finance:abc", 2, minute)), true);
  EXPECT_EQ(
      admitted(CacheAs("finance")->AdmitInWindow("dorset:v1:ratelimit:finance:abc", 2, minute)),
      true);
  EXPECT_EQ(admitted(registry->AdmitInWindow("dorset:v1:ratelimit:registry:abc", 2, minute)), true);
  // Not under another service's prefix, nor anywhere else: refused, and then never asked again,
  // so the cache's reads carry on undisturbed (the limit stays per replica).
  EXPECT_EQ(admitted(engagement->AdmitInWindow("dorset:v1:ratelimit:finance:abc", 2, minute)),
            std::nullopt);
  EXPECT_EQ(admitted(engagement->AdmitInWindow("dorset:v1:ratelimit:engagement:abc", 2, minute)),
            std::nullopt);
  registry->Set(kPublicKey, "practice", absl::Minutes(1));
  EXPECT_EQ(engagement->Get(kPublicKey), "practice");
  EXPECT_TRUE(engagement->Reachable());
  // The refused attempts changed nothing: finance's window still holds 2, its limit.
  EXPECT_EQ(admitted(finance->AdmitInWindow("dorset:v1:ratelimit:finance:abc", 2, minute)), false);
}

TEST_F(RedisAclTest, OnlyTheRegistryWritesAndNoServiceCanCachePersonalData) {
  auto registry = CacheAs("registry");
  auto engagement = CacheAs("engagement");
  auto finance = CacheAs("finance");
  EXPECT_TRUE(registry->Health().ok) << registry->Health().detail;

  registry->Set(kPublicKey, "practice", absl::Minutes(1));
  EXPECT_EQ(registry->Get(kPublicKey), "practice");
  // Finance and engagement read the registry's keys but cannot change them.
  EXPECT_EQ(finance->Get(kPublicKey), "practice");
  EXPECT_EQ(engagement->Get(kPublicKey), "practice");
  engagement->Set(kPublicKey, "forged", absl::Minutes(1));
  finance->Delete({kPublicKey});
  EXPECT_EQ(registry->Get(kPublicKey), "practice");

  // No service can put personal data into Redis, not even under its own prefix.
  engagement->Set(kPrivateKey, "personal data", absl::Minutes(1));
  finance->Set("dorset:v1:finance:posting:1", "figures", absl::Minutes(1));
  EXPECT_EQ(engagement->Get(kPrivateKey), std::nullopt);
  redis_->SetCliUser("dorset-engagement", DevFile("redis-password-engagement"));
  EXPECT_TRUE(absl::StartsWith(redis_->Cli(absl::StrCat("SET ", kPrivateKey, " x")), "NOPERM"));
  redis_->SetCliUser("dorset-registry", DevFile("redis-password-registry"));
  EXPECT_TRUE(absl::StartsWith(redis_->Cli(absl::StrCat("GET ", kPrivateKey)), "NOPERM"));
  EXPECT_TRUE(absl::StartsWith(redis_->Cli(absl::StrCat("SET ", kPrivateKey, " x")), "NOPERM"));
}

TEST_F(RedisAclTest, SharedCareReadersReadPublicKeysOnlyAndWriteNothing) {
  auto registry = CacheAs("registry");
  registry->Set(kPublicKey, "practice", absl::Minutes(1));

  auto reader = CacheAs("shared-care-reader", DevFile("redis-password-shared-care-reader"));
  EXPECT_EQ(reader->Get(kPublicKey), "practice");
  EXPECT_EQ(reader->Get(kPrivateKey), std::nullopt);
  reader->Set(kPublicKey, "forged", absl::Minutes(1));
  EXPECT_EQ(registry->Get(kPublicKey), "practice");

  redis_->SetCliUser("shared-care-reader", DevFile("redis-password-shared-care-reader"));
  EXPECT_EQ(redis_->Cli(absl::StrCat("GET ", kPublicKey)), "practice\n");
  EXPECT_TRUE(absl::StartsWith(redis_->Cli(absl::StrCat("GET ", kPrivateKey)), "NOPERM"));
  // Key names are not listed either (KEYS/SCAN would show the private keys' names).
  EXPECT_TRUE(absl::StartsWith(redis_->Cli("KEYS '*'"), "NOPERM"));
  EXPECT_TRUE(absl::StartsWith(redis_->Cli("SCAN 0"), "NOPERM"));
  EXPECT_TRUE(absl::StartsWith(redis_->Cli(absl::StrCat("DEL ", kPublicKey)), "NOPERM"));
}

TEST_F(RedisAclTest, WithoutCredentialsOnlyPingAnswers) {
  auto registry = CacheAs("registry");
  registry->Set(kPublicKey, "practice", absl::Minutes(1));
  EXPECT_EQ(redis_->Cli("PING"), "PONG\n");  // the probes need no password
  EXPECT_FALSE(absl::StartsWith(redis_->Cli(absl::StrCat("GET ", kPublicKey)), "practice"));
  auto anonymous = CacheAs("", "");
  EXPECT_EQ(anonymous->Get(kPublicKey), std::nullopt);
  anonymous->Set(kPublicKey, "forged", absl::Minutes(1));
  EXPECT_EQ(registry->Get(kPublicKey), "practice");
}

TEST_F(RedisAclTest, AWrongPasswordIsAFaultAndThePasswordIsNeverLogged) {
  std::ostringstream logged;
  log::InitWithSink("engagement", std::make_shared<spdlog::sinks::ostream_sink_mt>(logged));
  struct RestoreLog {
    ~RestoreLog() { (void)log::Init("test", "warn"); }  // `logged` dies with this test
  } restore;
  const std::string wrong = "not-the-engagement-password-0123";
  auto cache = CacheAs("dorset-engagement", wrong);
  EXPECT_EQ(cache->Get(kPrivateKey), std::nullopt);
  const CacheHealth health = cache->Health();
  EXPECT_FALSE(health.ok);
  EXPECT_TRUE(absl::StrContains(health.detail, "AUTH")) << health.detail;
  EXPECT_FALSE(absl::StrContains(health.detail, wrong));
  EXPECT_TRUE(absl::StrContains(logged.str(), "AUTH")) << logged.str();
  EXPECT_FALSE(absl::StrContains(logged.str(), wrong));
  // The right password works on the same server.
  CacheAs("registry")->Set(kPublicKey, "practice", absl::Minutes(1));
  auto right = CacheAs("engagement");
  EXPECT_EQ(right->Get(kPublicKey), "practice");
  EXPECT_TRUE(right->Health().ok) << right->Health().detail;
  EXPECT_FALSE(absl::StrContains(logged.str(), DevFile("redis-password-engagement")));
}

// The wiring from the configuration: --redis_user and --redis_password_file (a Secret's file,
// which may end in a newline) reach AUTH; a wrong password shows as a degraded cache.
TEST_F(RedisAclTest, AServerAuthenticatesWithItsConfiguredUserAndPasswordFile) {
  dorset::testing::TempDir dir;
  for (const auto& [file, password] :
       {std::pair<std::string, std::string>{"right", DevFile("redis-password-registry") + "\n"},
        {"wrong", "wrong-password\n"}}) {
    std::ofstream(dir.File(file)) << password;
  }
  ServerConfig config = dorset::testing::TestServerConfig("echo", dir.path());
  config.redis = redis_->address();
  config.redis_user = "dorset-registry";
  config.redis_password_file = dir.File("right");
  {
    auto host = ServiceHost::Start(config, std::make_unique<bench::EchoModule>());
    ASSERT_TRUE(host.ok()) << host.status();
    (*host)->cache().Set(kPublicKey, "practice", absl::Minutes(1));
    EXPECT_EQ((*host)->cache().Get(kPublicKey), "practice");
    EXPECT_EQ((*host)->CurrentReadiness().reason, "ok; cache redis");
  }
  config.redis_password_file = dir.File("wrong");
  auto host = ServiceHost::Start(config, std::make_unique<bench::EchoModule>());
  ASSERT_TRUE(host.ok()) << host.status();
  const Readiness readiness = (*host)->CurrentReadiness();
  EXPECT_TRUE(readiness.ready);  // Redis is never needed for correctness
  EXPECT_TRUE(absl::StrContains(readiness.reason, "AUTH refused: WRONGPASS")) << readiness.reason;
  EXPECT_FALSE(absl::StrContains(readiness.reason, "wrong-password"));
}

}  // namespace
}  // namespace dorset::runtime
