// RedisCache against a real redis-server, including Redis dying and coming back mid-test.
#include "runtime/cache/redis_cache.h"

#include <hiredis/hiredis.h>

#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"
#include "runtime/testing/redis_server.h"

namespace dorset::runtime {
namespace {

class RedisCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto redis = dorset::testing::RedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    RedisOptions options;
    options.port = redis_->port();
    options.pool_size = 2;
    options.breaker_failures = 3;
    options.breaker_open_for = absl::Milliseconds(300);
    cache_ = std::make_unique<RedisCache>(options, &registry_);
  }

  std::string Metrics() { return prometheus::TextSerializer().Serialize(registry_.Collect()); }

  std::unique_ptr<dorset::testing::RedisServer> redis_;
  prometheus::Registry registry_;
  std::unique_ptr<RedisCache> cache_;
};

TEST_F(RedisCacheTest, SetGetDeleteWithTtl) {
  cache_->Set("dorset:v1:test:a", std::string("bin\0ary", 7), absl::Seconds(30));
  EXPECT_EQ(cache_->Get("dorset:v1:test:a"), std::string("bin\0ary", 7));
  const std::string ttl = redis_->Cli("PTTL dorset:v1:test:a");
  EXPECT_GT(std::stoll(ttl), 25000);
  cache_->Delete({"dorset:v1:test:a"});
  EXPECT_EQ(cache_->Get("dorset:v1:test:a"), std::nullopt);
  EXPECT_TRUE(cache_->Health().ok);
}

TEST_F(RedisCacheTest, FailsOpenWhenRedisDiesAndRecoversWhenItReturns) {
  cache_->Set("k", "v", absl::Minutes(1));
  ASSERT_EQ(cache_->Get("k"), "v");

  redis_->Kill();
  // Every call still returns (a miss), none throws or hangs; after three faults the breaker
  // opens and later calls skip Redis entirely.
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(cache_->Get("k"), std::nullopt);
    cache_->Set("k", "v2", absl::Minutes(1));
  }
  EXPECT_FALSE(cache_->Health().ok);
  EXPECT_TRUE(cache_->Health().breaker_open);
  const std::string metrics = Metrics();
  EXPECT_NE(metrics.find("dorset_cache_breaker_open 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find(R"(dorset_cache_requests_total{backend="redis",result="skipped"})"),
            std::string::npos);

  ASSERT_TRUE(redis_->Restart().ok());
  // Once the open period passes, the half-open trial succeeds and the cache works again.
  bool recovered = false;
  for (int i = 0; i < 100 && !recovered; ++i) {
    absl::SleepFor(absl::Milliseconds(50));
    cache_->Set("k", "v3", absl::Minutes(1));
    recovered = cache_->Get("k") == "v3";
  }
  EXPECT_TRUE(recovered);
  EXPECT_TRUE(cache_->Health().ok);
  EXPECT_FALSE(cache_->Health().breaker_open);
}

TEST_F(RedisCacheTest, PublishReachesSubscribers) {
  std::unique_ptr<redisContext, decltype(&redisFree)> subscriber(
      redisConnect("127.0.0.1", redis_->port()), &redisFree);
  ASSERT_TRUE(subscriber && !subscriber->err);
  freeReplyObject(redisCommand(subscriber.get(), "SUBSCRIBE dorset:v1:test:changes"));
  cache_->Publish("dorset:v1:test:changes", "practices/J81016");
  timeval timeout{5, 0};
  redisSetTimeout(subscriber.get(), timeout);
  void* raw = nullptr;
  ASSERT_EQ(redisGetReply(subscriber.get(), &raw), REDIS_OK);
  std::unique_ptr<redisReply, decltype(&freeReplyObject)> reply(static_cast<redisReply*>(raw),
                                                                &freeReplyObject);
  ASSERT_EQ(reply->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(reply->elements, 3u);
  EXPECT_EQ(std::string(reply->element[0]->str), "message");
  EXPECT_EQ(std::string(reply->element[2]->str), "practices/J81016");
}

TEST(RedisCacheUnreachableTest, NeverConnectedRedisIsDegradedNotFatal) {
  RedisOptions options;
  options.port = dorset::testing::FreePort();  // nothing listens here
  RedisCache cache(options, nullptr);
  EXPECT_EQ(cache.Get("k"), std::nullopt);
  cache.Set("k", "v", absl::Seconds(1));
  const CacheHealth health = cache.Health();
  EXPECT_FALSE(health.ok);
  EXPECT_EQ(health.backend, "redis");
}

}  // namespace
}  // namespace dorset::runtime
