// The registry client against a REAL registry host (loopback gRPC, real store): the cache
// policy of docs/cache-keys.md (local copies current for 30 s, then stale and marked for up to
// 15 min while the registry cannot be reached, then the error), single-flight of identical
// lookups (counted by the registry's own metrics), and prompt reconnection after the registry
// restarts on the same port.
#include <httplib.h>

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/barrier.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/cache/redis_cache.h"
#include "runtime/testing/redis_server.h"
#include "runtime/testing/test_host.h"
#include "services/registry/client/registry_client.h"
#include "tests/registry/registry_test_env.h"

namespace dorset::registry::testing {
namespace {

// Calls the registry started for `method` (grpc_server_started_total, summed over codes), read
// from its /metrics endpoint: the server's own count, not the client's.
int64_t StartedCalls(runtime::ServiceHost& host, const std::string& method) {
  httplib::Client ops("127.0.0.1", host.ops_port());
  auto res = ops.Get("/metrics");
  if (!res || res->status != 200) return -1;
  int64_t total = 0;
  for (absl::string_view line : absl::StrSplit(res->body, '\n')) {
    if (!absl::StartsWith(line, "grpc_server_started_total{") ||
        !absl::StrContains(line, absl::StrCat("grpc_method=\"", method, "\""))) {
      continue;
    }
    double value = 0;
    if (absl::SimpleAtod(line.substr(line.rfind(' ') + 1), &value)) {
      total += static_cast<int64_t>(value);
    }
  }
  return total;
}

class ManualClock {
 public:
  absl::Time Now() const { return absl::FromUnixMicros(micros_.load()); }
  void Advance(absl::Duration d) { micros_ += absl::ToInt64Microseconds(d); }

 private:
  std::atomic<int64_t> micros_{absl::ToUnixMicros(absl::Now())};
};

TEST(RegistryClientPolicy, ConcurrentIdenticalLookupsMakeOneRegistryCall) {
  auto env = RegistryEnv::Start();
  ASSERT_NE(env, nullptr);
  env->LoadDorset();
  RegistryClientOptions options;  // no shared cache: every miss would be a registry call
  auto client = RegistryClient::ForChannel(env->channel(), options);
  const int64_t before = StartedCalls(env->host(), "GetLocality");
  ASSERT_GE(before, 0);

  constexpr int kCallers = 32;
  absl::Barrier start(kCallers);
  std::atomic<int> ok{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < kCallers; ++i) {
    callers.emplace_back([&] {
      start.Block();
      auto locality = client->GetLocality("localities/poole-bay");
      if (locality.ok() && locality->name() == "localities/poole-bay") ok.fetch_add(1);
    });
  }
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(ok.load(), kCallers);
  EXPECT_EQ(StartedCalls(env->host(), "GetLocality") - before, 1);
  const RegistryClientStats stats = client->stats();
  EXPECT_EQ(stats.rpcs, 1);
  // Every other caller either joined the one call or found its fresh local copy.
  EXPECT_EQ(stats.coalesced + stats.local_hits, kCallers - 1);
}

TEST(RegistryClientPolicy, LocalCopiesAreCurrentThenStaleAndMarkedThenGone) {
  auto env = RegistryEnv::Start();
  ASSERT_NE(env, nullptr);
  env->LoadDorset();
  auto clock = std::make_shared<ManualClock>();
  RegistryClientOptions options;
  options.clock = [clock] { return clock->Now(); };
  options.initial_backoff = absl::Milliseconds(10);
  options.attempt_deadline = absl::Seconds(1);
  auto client = RegistryClient::ForChannel(env->channel(), options);

  const absl::Time t0 = clock->Now();
  Freshness freshness;
  auto first = client->GetLocality("poole-bay", &freshness);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(freshness.stale);
  EXPECT_EQ(freshness.as_of, t0);
  const int64_t patients = first->active_registered_patients();
  EXPECT_GT(patients, 0);

  // Within fresh_for: the local copy answers as current, without a call.
  clock->Advance(absl::Seconds(20));
  ASSERT_TRUE(client->GetLocality("poole-bay", &freshness).ok());
  EXPECT_FALSE(freshness.stale);
  EXPECT_EQ(client->stats().rpcs, 1);
  // Past fresh_for with the registry up: asked again, current again.
  clock->Advance(absl::Seconds(20));
  ASSERT_TRUE(client->GetLocality("poole-bay", &freshness).ok());
  EXPECT_FALSE(freshness.stale);
  EXPECT_EQ(freshness.as_of, t0 + absl::Seconds(40));
  EXPECT_EQ(client->stats().rpcs, 2);

  // The registry goes away.
  env->host().Shutdown();
  clock->Advance(absl::Minutes(1));
  auto stale = client->GetLocality("poole-bay", &freshness);
  ASSERT_TRUE(stale.ok()) << stale.status();
  EXPECT_TRUE(freshness.stale);
  EXPECT_EQ(freshness.as_of, t0 + absl::Seconds(40));
  EXPECT_EQ(stale->active_registered_patients(), patients);
  EXPECT_EQ(client->stats().stale_served, 1);
  // A value never read has no copy: the error, not a made-up answer.
  auto never = client->GetLocality("purbeck", &freshness);
  EXPECT_TRUE(absl::IsUnavailable(never.status()) || absl::IsDeadlineExceeded(never.status()))
      << never.status();
  // Past max_stale (15 min): no copy answers any more.
  clock->Advance(absl::Minutes(15));
  auto gone = client->GetLocality("poole-bay", &freshness);
  EXPECT_FALSE(gone.ok());
  EXPECT_TRUE(absl::IsUnavailable(gone.status()) || absl::IsDeadlineExceeded(gone.status()))
      << gone.status();
  EXPECT_FALSE(client->Health().up);
}

TEST(RegistryClientPolicy, AnAuthoritativeAnswerIsNeverReplacedByAStaleCopy) {
  auto env = RegistryEnv::Start();
  ASSERT_NE(env, nullptr);
  env->LoadDorset();
  RegistryClientOptions options;
  auto client = RegistryClient::ForChannel(env->channel(), options);
  EXPECT_TRUE(absl::IsNotFound(client->GetPractice("J99999").status()));
  EXPECT_TRUE(absl::IsNotFound(client->GetPractice("J99999").status()));
}

// Issue 10 item 12: after a restart on the same port, calls succeed again promptly (the
// reconnect backoff is capped at 1 s; gRPC's default grows towards 120 s and kept callers
// failing for 4.7-12.2 s), and Health() reports the outage.
TEST(RegistryClientPolicy, ReconnectsPromptlyAfterTheRegistryRestarts) {
  dorset::testing::TempDir dir;
  const int port = dorset::testing::FreePort();
  auto start_registry = [&]() -> std::unique_ptr<runtime::ServiceHost> {
    runtime::ServerConfig config = dorset::testing::TestServerConfig("registry", dir.path());
    EXPECT_TRUE(UseTestEngine(config).ok());
    config.grpc_listen = absl::StrCat("127.0.0.1:", port);
    auto host = runtime::ServiceHost::Start(config, std::make_unique<RegistryModule>());
    EXPECT_TRUE(host.ok()) << host.status();
    return host.ok() ? *std::move(host) : nullptr;
  };
  auto registry = start_registry();
  ASSERT_NE(registry, nullptr);

  RegistryClientOptions options;
  options.target = absl::StrCat("127.0.0.1:", port);
  options.attempt_deadline = absl::Milliseconds(500);
  options.max_attempts = 1;  // the test drives the calls
  auto client = RegistryClient::Create(options);
  ASSERT_TRUE(client.ok());
  v1::ListPracticesRequest all;  // not cached: every call reaches the channel
  ASSERT_TRUE((*client)->ListAllPractices(all).ok());
  EXPECT_TRUE((*client)->Health().up);

  registry->Shutdown();
  registry.reset();
  // Down for 8 s with traffic, so an uncapped backoff would have grown to several seconds.
  const absl::Time down_until = absl::Now() + absl::Seconds(8);
  int failures = 0;
  while (absl::Now() < down_until) {
    if (!(*client)->ListAllPractices(all).ok()) ++failures;
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_GT(failures, 0);
  EXPECT_FALSE((*client)->Health().up) << (*client)->Health().detail;

  registry = start_registry();
  ASSERT_NE(registry, nullptr);
  // Generous next to the 1 s cap, well below the old 4.7-12.2 s.
  const absl::Time deadline = absl::Now() + absl::Seconds(4);
  bool recovered = false;
  while (!recovered && absl::Now() < deadline) {
    recovered = (*client)->ListAllPractices(all).ok();
    if (!recovered) absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_TRUE(recovered) << "no successful call within 4 s of the registry being ready again";
  EXPECT_TRUE((*client)->Health().up) << (*client)->Health().detail;
  registry->Shutdown();
}

// The registry side of the policy: a change committed while Redis is hung leaves its keys to
// delete; they are deleted once Redis answers again (within seconds), not left until their TTL
// (300 s), so readers of the shared keys never get the old value for long.
TEST(RegistryClientPolicy, InvalidationsMissedWhileRedisHungAreReplayedWhenItIsBack) {
  auto env = RegistryEnv::Start({.redis = true});
  ASSERT_NE(env, nullptr);
  env->LoadDorset();
  const std::string key = "dorset:v1:registry:practice:J81002";
  ASSERT_TRUE(env->Get("J81002").ok());  // fills the key
  ASSERT_NE(env->redis()->Cli("GET " + key), "\n");
  const std::string old_telephone = env->Get("J81002")->telephone();

  env->redis()->Pause();
  {
    grpc::ClientContext context;
    v1::UpdatePracticeRequest request;
    request.mutable_practice()->set_name("practices/J81002");
    request.mutable_practice()->set_telephone("01202 424242");
    request.mutable_update_mask()->add_paths("telephone");
    v1::Practice out;
    grpc::Status status = env->stub().UpdatePractice(&context, request, &out);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  env->redis()->Resume();

  // Wait (generously) for the replay; the old value must go.
  std::string value;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  do {
    value = env->redis()->Cli("GET " + key);
    if (!absl::StrContains(value, old_telephone) || old_telephone.empty()) break;
    absl::SleepFor(absl::Milliseconds(100));
  } while (absl::Now() < deadline);
  EXPECT_THAT(value, ::testing::Not(::testing::HasSubstr("\"telephone\":\"" + old_telephone)));
  // Readers through the shared cache see the change.
  runtime::RedisOptions redis_options;
  redis_options.port = env->redis()->port();
  runtime::RedisCache cache(redis_options, nullptr);
  RegistryClientOptions options;
  options.cache = &cache;
  auto client = RegistryClient::ForChannel(env->channel(), options);
  auto practice = client->GetPractice("J81002");
  ASSERT_TRUE(practice.ok()) << practice.status();
  EXPECT_EQ(practice->telephone(), "01202 424242");
}

}  // namespace
}  // namespace dorset::registry::testing
