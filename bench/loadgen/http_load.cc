// The HTTP closed loop of dorset-loadgen (see http_load.h).
#include "bench/loadgen/http_load.h"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace dorset::bench {

int RunHttpLoad(const HttpLoadOptions& o) {
  const size_t colon = o.target.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(o.target.substr(colon + 1), &port)) {
    std::fprintf(stderr, "--target must be host:port\n");
    return 2;
  }
  const std::string host = o.target.substr(0, colon);
  httplib::Headers headers;
  if (!o.token.empty()) headers.emplace("Authorization", "Bearer " + o.token);
  if (!o.accept.empty()) headers.emplace("Accept", o.accept);

  const absl::Time started = absl::Now();
  const absl::Time measure_from = started + absl::Seconds(o.warmup_s);
  const absl::Time stop_at = measure_from + absl::Seconds(o.duration_s);
  std::vector<std::vector<int64_t>> latencies(o.concurrency);  // one per slot: no lock
  std::atomic<uint64_t> ok{0}, failed{0};
  std::mutex mu;
  std::map<std::string, uint64_t> errors;  // guarded by mu
  std::string first_error;                 // guarded by mu
  std::vector<std::thread> slots;
  for (int slot = 0; slot < o.concurrency; ++slot) {
    slots.emplace_back([&, slot] {
      httplib::Client client(host, port);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);  // as curl and browsers do
      client.set_read_timeout(60, 0);
      while (true) {
        const absl::Time start = absl::Now();
        if (start >= stop_at) return;
        auto result = client.Get(o.path, headers);
        const absl::Time end = absl::Now();
        if (start < measure_from || end > stop_at) continue;
        if (result && result->status / 100 == 2) {
          latencies[slot].push_back(absl::ToInt64Nanoseconds(end - start));
          ok.fetch_add(1);
          continue;
        }
        failed.fetch_add(1);
        std::lock_guard<std::mutex> lock(mu);
        const std::string code =
            result ? absl::StrCat(result->status) : httplib::to_string(result.error());
        errors[code]++;
        if (first_error.empty()) first_error = result ? result->body.substr(0, 300) : code;
      }
    });
  }
  for (std::thread& t : slots) t.join();

  std::vector<int64_t> all;
  for (const auto& v : latencies) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  const auto pct = [&](double p) -> double {
    if (all.empty()) return 0;
    return static_cast<double>(
               all[static_cast<size_t>(p * static_cast<double>(all.size() - 1) + 0.5)]) /
           1e6;
  };
  const double qps = static_cast<double>(ok.load()) / o.duration_s;
  std::string codes;
  for (const auto& [code, n] : errors) {
    absl::StrAppend(&codes, codes.empty() ? "" : ",", "\"", code, "\":", n);
  }
  if (o.json) {
    std::printf(
        "{\"method\":\"GET %s\",\"target\":\"%s\",\"concurrency\":%d,\"channels\":%d,"
        "\"duration_s\":%.3f,\"calls\":%llu,\"errors\":%llu,\"qps\":%.1f,\"p50_ms\":%.3f,"
        "\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"error_codes\":{%s}}\n",
        o.path.c_str(), o.target.c_str(), o.concurrency, o.concurrency, o.duration_s,
        static_cast<unsigned long long>(ok.load()), static_cast<unsigned long long>(failed.load()),
        qps, pct(0.5), pct(0.9), pct(0.99), pct(0.999), codes.c_str());
  } else {
    std::printf("GET %s  concurrency=%d duration=%.1fs\n", o.path.c_str(), o.concurrency,
                o.duration_s);
    std::printf("  calls ok=%llu errors=%llu  qps=%.1f\n",
                static_cast<unsigned long long>(ok.load()),
                static_cast<unsigned long long>(failed.load()), qps);
    std::printf("  latency ms p50=%.3f p90=%.3f p99=%.3f p99.9=%.3f\n", pct(0.5), pct(0.9),
                pct(0.99), pct(0.999));
    if (!codes.empty())
      std::printf("  errors by status: {%s}\n  first error: %s\n", codes.c_str(),
                  first_error.c_str());
  }
  return ok.load() > 0 ? 0 : 1;
}

}  // namespace dorset::bench
