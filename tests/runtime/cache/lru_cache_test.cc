#include "runtime/cache/lru_cache.h"

#include "gtest/gtest.h"
#include "runtime/cache/circuit_breaker.h"

namespace dorset::runtime {
namespace {

TEST(LruCacheTest, EvictsLeastRecentlyUsedBeyondCapacity) {
  LruCache cache(2);
  cache.Set("a", "1", absl::Minutes(1));
  cache.Set("b", "2", absl::Minutes(1));
  EXPECT_EQ(cache.Get("a"), "1");  // a is now most recent
  cache.Set("c", "3", absl::Minutes(1));
  EXPECT_EQ(cache.Get("b"), std::nullopt);
  EXPECT_EQ(cache.Get("a"), "1");
  EXPECT_EQ(cache.Get("c"), "3");
  EXPECT_EQ(cache.size(), 2u);
}

TEST(LruCacheTest, GetWithTimeSaysWhenTheValueWasStored) {
  absl::Time now = absl::FromUnixSeconds(1000);
  LruCache cache(10, [&now] { return now; });
  cache.Set("k", "v1", absl::Seconds(60));
  now += absl::Seconds(7);
  auto timed = cache.GetWithTime("k");
  ASSERT_TRUE(timed.has_value());
  EXPECT_EQ(timed->value, "v1");
  EXPECT_EQ(timed->stored, absl::FromUnixSeconds(1000));
  cache.Set("k", "v2", absl::Seconds(60));  // a refill restamps it
  timed = cache.GetWithTime("k");
  ASSERT_TRUE(timed.has_value());
  EXPECT_EQ(timed->value, "v2");
  EXPECT_EQ(timed->stored, absl::FromUnixSeconds(1007));
  EXPECT_EQ(cache.GetWithTime("missing"), std::nullopt);
}

TEST(LruCacheTest, EntriesExpireAfterTheirTtl) {
  absl::Time now = absl::FromUnixSeconds(1000);
  LruCache cache(10, [&now] { return now; });
  cache.Set("k", "v", absl::Seconds(5));
  now += absl::Seconds(4);
  EXPECT_EQ(cache.Get("k"), "v");
  now += absl::Seconds(2);
  EXPECT_EQ(cache.Get("k"), std::nullopt);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(LruCacheTest, DeleteAndOverwrite) {
  LruCache cache(10);
  cache.Set("k", "v1", absl::Minutes(1));
  cache.Set("k", "v2", absl::Minutes(1));
  EXPECT_EQ(cache.Get("k"), "v2");
  cache.Delete({"k", "absent"});
  EXPECT_EQ(cache.Get("k"), std::nullopt);
  EXPECT_TRUE(cache.Health().ok);
}

TEST(CircuitBreakerTest, OpensAfterConsecutiveFailuresThenTriesOnce) {
  absl::Time now = absl::FromUnixSeconds(0);
  CircuitBreaker breaker(3, absl::Seconds(2), [&now] { return now; });
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(breaker.Allow());
    breaker.RecordFailure();
  }
  EXPECT_FALSE(breaker.open());
  breaker.RecordFailure();
  EXPECT_TRUE(breaker.open());
  EXPECT_FALSE(breaker.Allow());
  now += absl::Seconds(3);
  EXPECT_TRUE(breaker.Allow());   // the half-open trial
  EXPECT_FALSE(breaker.Allow());  // only one at a time
  breaker.RecordFailure();
  EXPECT_FALSE(breaker.Allow());  // open again for another period
  now += absl::Seconds(3);
  EXPECT_TRUE(breaker.Allow());
  breaker.RecordSuccess();
  EXPECT_FALSE(breaker.open());
  EXPECT_TRUE(breaker.Allow());
}

}  // namespace
}  // namespace dorset::runtime
