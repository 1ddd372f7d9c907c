// The cost of the shared rate limit (issue 13): a call gate's check with each replica's own
// in-memory bucket against the same check kept in Redis (the sliding-window script, one round
// trip; runtime/cache/redis_cache.cc), in the same run, alternating rounds, on a redis-server of
// its own on 127.0.0.1. Prints microseconds per check (median of the rounds) and the ratio.
//
//   dorset-rate-limit-bench [--calls=20000] [--rounds=5]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "runtime/cache/redis_cache.h"
#include "runtime/server/call_gate.h"
#include "runtime/testing/redis_server.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_host.h"

namespace {

int Flag(int argc, char** argv, const char* name, int fallback) {
  const std::string prefix = std::string("--") + name + "=";
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], prefix.c_str(), prefix.size()) == 0) {
      return std::atoi(argv[i] + prefix.size());
    }
  }
  return fallback;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  using namespace dorset;
  const int calls = Flag(argc, argv, "calls", 20000);
  const int rounds = Flag(argc, argv, "rounds", 5);
  auto redis = testing::RedisServer::Start();
  if (!redis.ok()) {
    std::fprintf(stderr, "redis-server: %s\n", std::string(redis.status().message()).c_str());
    return 1;
  }
  testing::TempDir dir;
  runtime::ServerConfig config = testing::TestServerConfig("registry", dir.path());
  // auth=none (one principal) and a limit no run reaches: every check admits, the common path.
  config.rate_limit_per_second = 1000000;
  config.rate_limit_burst = 10000000;
  runtime::CallGate own(config, nullptr);
  runtime::RedisOptions options;
  options.host = "127.0.0.1";
  options.port = (*redis)->port();
  runtime::RedisCache cache(options, nullptr);
  runtime::CallGate shared(config, nullptr);
  shared.ShareRateLimits(&cache, "registry");
  const std::string method = "/dorset.registry.v1.RegistryService/GetPractice";

  auto time_us = [&](runtime::CallGate& gate) {
    const absl::Time start = absl::Now();
    for (int i = 0; i < calls; ++i) {
      if (!gate.Decide(method, "", "").ok()) {
        std::fprintf(stderr, "a check was refused\n");
        std::exit(1);
      }
    }
    return absl::ToDoubleMicroseconds(absl::Now() - start) / calls;
  };
  time_us(own);  // warm up both
  time_us(shared);
  std::vector<double> own_us, shared_us;
  for (int r = 0; r < rounds; ++r) {
    own_us.push_back(time_us(own));
    shared_us.push_back(time_us(shared));
    std::printf("round %d: in-memory %.2f us/check, Redis %.2f us/check\n", r + 1, own_us.back(),
                shared_us.back());
  }
  const double o = Median(own_us), s = Median(shared_us);
  std::printf(
      "{\"calls_per_round\": %d, \"rounds\": %d, \"in_memory_us\": %.2f, \"redis_us\": %.2f, "
      "\"ratio\": %.1f, \"redis_extra_us\": %.2f}\n",
      calls, rounds, o, s, s / o, s - o);
  return 0;
}
