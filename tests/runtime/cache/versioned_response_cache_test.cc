// The response cache of issue 16: a reply is served only at the version it was computed at,
// newer replies are never replaced by older ones, and the bytes stay within the bound.
#include "runtime/cache/versioned_response_cache.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"

namespace dorset::runtime {
namespace {

grpc::ByteBuffer Bytes(const std::string& text) {
  grpc::Slice slice(text);
  return grpc::ByteBuffer(&slice, 1);
}

std::string Text(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(buffer.Dump(&slices).ok());
  std::string out;
  for (const grpc::Slice& s : slices)
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

TEST(VersionedResponseCacheTest, ServesAReplyOnlyAtTheVersionItWasComputedAt) {
  VersionedResponseCache cache("test", 1 << 20);
  EXPECT_FALSE(cache.Get("k", 1).has_value());
  cache.Put("k", 1, Bytes("reply at 1"));
  std::optional<grpc::ByteBuffer> hit = cache.Get("k", 1);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(Text(*hit), "reply at 1");
  EXPECT_FALSE(cache.Get("other", 1).has_value());
  // The store moved on: the old reply is never served again, and is dropped.
  EXPECT_FALSE(cache.Get("k", 2).has_value());
  EXPECT_EQ(cache.entries(), 0u);
  EXPECT_FALSE(cache.Get("k", 1).has_value());
  EXPECT_EQ(cache.hits(), 1u);
  EXPECT_EQ(cache.misses(), 4u);
}

TEST(VersionedResponseCacheTest, AnOlderReplyNeverReplacesANewerOne) {
  VersionedResponseCache cache("test", 1 << 20);
  cache.Put("k", 5, Bytes("at 5"));
  cache.Put("k", 4, Bytes("at 4 (a slow reader)"));  // computed before the write of 5
  ASSERT_TRUE(cache.Get("k", 5).has_value());
  EXPECT_EQ(Text(*cache.Get("k", 5)), "at 5");
  // A reader still at 4 misses, and does not drop the newer entry.
  EXPECT_FALSE(cache.Get("k", 4).has_value());
  EXPECT_TRUE(cache.Get("k", 5).has_value());
  cache.Put("k", 6, Bytes("at 6"));
  EXPECT_EQ(Text(*cache.Get("k", 6)), "at 6");
  EXPECT_EQ(cache.entries(), 1u);
}

TEST(VersionedResponseCacheTest, StaysWithinItsBytesDroppingTheLeastRecentlyUsed) {
  const size_t max = 64 * 1024;
  VersionedResponseCache cache("test", max);
  const std::string reply(4000, 'x');
  for (int i = 0; i < 100; ++i) {
    cache.Put("key" + std::to_string(i), 1, Bytes(reply));
    ASSERT_TRUE(cache.Get("key0", 1).has_value()) << i;  // kept warm: never the one dropped
    EXPECT_LE(cache.bytes(), max);
  }
  EXPECT_TRUE(cache.Get("key99", 1).has_value());
  EXPECT_FALSE(cache.Get("key1", 1).has_value());
  EXPECT_GT(cache.entries(), 5u);
  // A reply larger than a quarter of the bound is not kept at all.
  cache.Put("big", 1, Bytes(std::string(max / 2, 'y')));
  EXPECT_FALSE(cache.Get("big", 1).has_value());
}

TEST(VersionedResponseCacheTest, CountsHitsMissesAndBytesInItsMetrics) {
  prometheus::Registry registry;
  VersionedResponseCache cache("reports", 1 << 20, &registry);
  cache.Put("k", 1, Bytes("r"));
  cache.Get("k", 1);
  cache.Get("k", 1);
  cache.Get("j", 1);
  const std::string text = prometheus::TextSerializer().Serialize(registry.Collect());
  EXPECT_NE(text.find("dorset_response_cache_hits_total{cache=\"reports\"} 2"), std::string::npos)
      << text;
  EXPECT_NE(text.find("dorset_response_cache_misses_total{cache=\"reports\"} 1"), std::string::npos)
      << text;
  EXPECT_NE(text.find("dorset_response_cache_bytes{cache=\"reports\"}"), std::string::npos) << text;
}

}  // namespace
}  // namespace dorset::runtime
