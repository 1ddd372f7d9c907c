// The shared cache (real redis-server): keys filled as protobuf JSON, invalidated on change,
// bypassed when Redis is killed; and the registry client reading through it with retries.
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/cache/redis_cache.h"
#include "services/registry/client/cache_json.h"
#include "services/registry/client/cache_keys.h"
#include "services/registry/client/registry_client.h"
#include "tests/registry/registry_test_env.h"

namespace dorset::registry::testing {
namespace {

using ::testing::HasSubstr;

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

class CacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = RegistryEnv::Start({.redis = true});
    ASSERT_NE(env_, nullptr);
    env_->LoadDorset();
    runtime::RedisOptions options;
    options.port = env_->redis()->port();
    options.breaker_open_for = absl::Milliseconds(200);
    cache_ = std::make_unique<runtime::RedisCache>(options, nullptr);
  }

  std::string RedisGet(const std::string& key) { return Trim(env_->redis()->Cli("GET " + key)); }

  absl::Status SetTelephone(const std::string& code, const std::string& telephone) {
    grpc::ClientContext context;
    v1::UpdatePracticeRequest request;
    request.mutable_practice()->set_name("practices/" + code);
    request.mutable_practice()->set_telephone(telephone);
    request.mutable_update_mask()->add_paths("telephone");
    v1::Practice out;
    grpc::Status status = env_->stub().UpdatePractice(&context, request, &out);
    return status.ok() ? absl::OkStatus() : absl::UnknownError(status.error_message());
  }

  std::unique_ptr<RegistryClient> Client(runtime::Cache* cache,
                                         absl::Duration fresh_for = absl::Seconds(30)) {
    RegistryClientOptions options;
    options.cache = cache;
    options.fresh_for = fresh_for;
    return RegistryClient::ForChannel(env_->channel(), options);
  }

  std::unique_ptr<RegistryEnv> env_;
  std::unique_ptr<runtime::RedisCache> cache_;
};

TEST_F(CacheTest, ReadsFillRedisWithProtobufJsonUnderTheDocumentedKeys) {
  EXPECT_EQ(RedisGet(cache_keys::Practice("J81002")), "");
  ASSERT_TRUE(env_->Get("J81002").ok());
  const std::string json = RedisGet("dorset:v1:registry:practice:J81002");
  v1::Practice parsed;
  ASSERT_TRUE(cache_json::FromJson(json, parsed).ok()) << json;
  EXPECT_EQ(parsed.ods_code(), "J81002");
  EXPECT_EQ(parsed.status(), v1::Practice::STATUS_ACTIVE);
  // v1 keeps the enum spelling it was published with (docs/cache-keys.md).
  EXPECT_THAT(json, HasSubstr("\"status\":\"ACTIVE\""));
  EXPECT_THAT(json, HasSubstr("\"displayName\":\"ORCHID HOUSE SURGERY\""));
  EXPECT_THAT(json, HasSubstr("\"listSize\":\"8840\""));  // int64 as a JSON string
  const int ttl = std::stoi(Trim(env_->redis()->Cli("TTL dorset:v1:registry:practice:J81002")));
  EXPECT_GT(ttl, 0);
  EXPECT_LE(ttl, 300);

  auto client = Client(cache_.get());
  ASSERT_TRUE(client->GetAreaSummary().ok());
  EXPECT_THAT(RedisGet("dorset:v1:registry:summary:11J"),
              HasSubstr("\"registeredPatients\":\"810033\""));
  ASSERT_TRUE(client->ListLocalities().ok());
  EXPECT_THAT(RedisGet("dorset:v1:registry:localities"), HasSubstr("localities/poole-bay"));
  ASSERT_TRUE(client->GetLocality("poole-bay").ok());
  EXPECT_THAT(RedisGet("dorset:v1:registry:locality:poole-bay"), HasSubstr("Poole Bay"));
  ASSERT_TRUE(client->ListClusters().ok());
  EXPECT_THAT(RedisGet("dorset:v1:registry:clusters"), HasSubstr("clusters/poole"));
}

TEST_F(CacheTest, AChangeInvalidatesThePracticeAndDerivedKeys) {
  auto client = Client(cache_.get());
  ASSERT_TRUE(client->GetPractice("J81002").ok());  // miss: the server fills Redis
  ASSERT_TRUE(client->GetAreaSummary().ok());
  ASSERT_TRUE(client->GetLocality("east-dorset").ok());
  auto cached = client->GetPractice("practices/J81002");  // hit
  ASSERT_TRUE(cached.ok());
  EXPECT_EQ(client->stats().cache_hits, 1);
  EXPECT_NE(RedisGet(cache_keys::Summary("11J")), "");

  ASSERT_TRUE(SetTelephone("J81002", "01202 999999").ok());
  EXPECT_EQ(RedisGet(cache_keys::Practice("J81002")), "");
  EXPECT_EQ(RedisGet(cache_keys::Summary("11J")), "");
  EXPECT_EQ(RedisGet(cache_keys::Locality("east-dorset")), "");
  EXPECT_EQ(RedisGet(cache_keys::AllLocalities()), "");

  auto fresh = client->GetPractice("J81002");
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->telephone(), "01202 999999");
  // The server's in-process copy was dropped too.
  EXPECT_EQ(env_->Get("J81002")->telephone(), "01202 999999");
}

TEST_F(CacheTest, ChangesArePublishedOnTheDocumentedChannel) {
  // redis-cli SUBSCRIBE in the background, printing raw messages to a file.
  dorset::testing::TempDir dir;
  const std::string out = dir.File("messages");
  const std::string command = "timeout 5 redis-cli -p " + std::to_string(env_->redis()->port()) +
                              " --raw SUBSCRIBE dorset:v1:registry:changes > " + out + " &";
  ASSERT_EQ(std::system(command.c_str()), 0);
  // Wait until the subscriber is attached.
  for (int i = 0; i < 100; ++i) {
    if (Trim(env_->redis()->Cli("PUBSUB NUMSUB dorset:v1:registry:changes")).find("\n1") !=
        std::string::npos) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_TRUE(SetTelephone("J81002", "01202 123456").ok());
  std::string messages;
  for (int i = 0; i < 100 && messages.find("J81002") == std::string::npos; ++i) {
    absl::SleepFor(absl::Milliseconds(20));
    std::ifstream in(out);
    std::stringstream buffer;
    buffer << in.rdbuf();
    messages = buffer.str();
  }
  EXPECT_THAT(messages, HasSubstr("\"resource\":\"practices/J81002\""));
  EXPECT_THAT(messages, HasSubstr("\"kind\":\"PRACTICE_UPDATED\""));
}

TEST_F(CacheTest, RedisKilledMidTestIsBypassedByServerAndClient) {
  // Without local copies (fresh_for 0): with Redis down, the client's local copies would answer
  // for up to 30 s by policy (client_policy_test covers that); here every read must reach the
  // registry and see its change at once.
  auto client = Client(cache_.get(), absl::ZeroDuration());
  ASSERT_TRUE(client->GetPractice("J81016").ok());
  env_->redis()->Kill();
  // Reads and writes keep working without Redis.
  auto practice = client->GetPractice("J81016");
  ASSERT_TRUE(practice.ok()) << practice.status();
  EXPECT_EQ(practice->ods_code(), "J81016");
  ASSERT_TRUE(SetTelephone("J81016", "01202 555555").ok());
  auto after = client->GetPractice("J81016");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->telephone(), "01202 555555");
  ASSERT_TRUE(client->GetAreaSummary().ok());
  ASSERT_TRUE(client->ListLocalities().ok());
  auto never_cached = env_->Get("J81004");
  ASSERT_TRUE(never_cached.ok());
  EXPECT_GE(client->stats().cache_misses, 3);

  // Redis back (empty): the cache fills again.
  ASSERT_TRUE(env_->redis()->Restart().ok());
  absl::SleepFor(absl::Milliseconds(300));  // let the breaker half-open
  // Up to 10 s: on a loaded machine the breaker's probe and the reconnect take their time.
  for (int i = 0; i < 100 && RedisGet(cache_keys::Summary("11J")).empty(); ++i) {
    ASSERT_TRUE(client->GetAreaSummary().ok());
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_NE(RedisGet(cache_keys::Summary("11J")), "");
}

TEST(RegistryClient, RetriesUnavailableThenFails) {
  RegistryClientOptions options;
  options.target = "127.0.0.1:" + std::to_string(dorset::testing::FreePort());
  options.max_attempts = 3;
  options.initial_backoff = absl::Milliseconds(10);
  options.attempt_deadline = absl::Milliseconds(300);
  auto client = RegistryClient::Create(options);
  ASSERT_TRUE(client.ok());
  auto practice = (*client)->GetPractice("J81016");
  EXPECT_TRUE(absl::IsUnavailable(practice.status()) || absl::IsDeadlineExceeded(practice.status()))
      << practice.status();
  EXPECT_EQ((*client)->stats().rpcs, 3);
  EXPECT_EQ((*client)->stats().retries, 2);
}

TEST(RegistryClient, ErrorsThatAreNotTransientAreNotRetried) {
  auto env = RegistryEnv::Start();
  ASSERT_NE(env, nullptr);
  RegistryClientOptions options;
  auto client = RegistryClient::ForChannel(env->channel(), options);
  auto missing = client->GetPractice("J99999");
  EXPECT_TRUE(absl::IsNotFound(missing.status())) << missing.status();
  auto bad = client->GetPractice("nonsense");
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status())) << bad.status();
  EXPECT_EQ(client->stats().rpcs, 2);
  EXPECT_EQ(client->stats().retries, 0);
}

TEST(RegistryClient, CreateFromServerConfig) {
  runtime::ServerConfig config;
  auto env = RegistryEnv::Start();
  ASSERT_NE(env, nullptr);
  env->LoadDorset();
  dorset::testing::TempDir dir;
  dorset::testing::WriteFile(dir.File("token"), "secret-token\n");
  config.registry_target = "127.0.0.1:" + std::to_string(env->host().grpc_port());
  config.service_token_file = dir.File("token");
  runtime::RedisOptions redis_options;
  redis_options.port = dorset::testing::FreePort();  // nothing listens: fail-open
  runtime::RedisCache cache(redis_options, nullptr);
  auto client = RegistryClient::Create(config, cache);
  ASSERT_TRUE(client.ok()) << client.status();
  auto practice = (*client)->GetPractice("J81002");
  ASSERT_TRUE(practice.ok()) << practice.status();
  auto localities = (*client)->ListLocalities();
  ASSERT_TRUE(localities.ok());
  EXPECT_EQ(localities->size(), 13u);
  auto clusters = (*client)->ListClusters();
  ASSERT_TRUE(clusters.ok());
  EXPECT_EQ(clusters->size(), 3u);
  v1::ListPracticesRequest filter;
  filter.set_locality("localities/purbeck");
  auto purbeck = (*client)->ListAllPractices(filter);
  ASSERT_TRUE(purbeck.ok());
  EXPECT_EQ(purbeck->size(), 7u);

  runtime::ServerConfig missing;
  EXPECT_TRUE(absl::IsInvalidArgument(RegistryClient::Create(missing, cache).status()));
}

}  // namespace
}  // namespace dorset::registry::testing
