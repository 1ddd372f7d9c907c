// dorset-loadgen's HTTP mode: the same closed loop as its gRPC mode, over HTTP/1.1 keep-alive
// connections (one per in-flight slot, a thread each), for the gateway's REST and FHIR faces
// (bench/gateway_bench.sh). A call is OK when the answer is 2xx; others count by HTTP status.
#ifndef DORSET_BENCH_LOADGEN_HTTP_LOAD_H_
#define DORSET_BENCH_LOADGEN_HTTP_LOAD_H_

#include <cstdint>
#include <string>

namespace dorset::bench {

struct HttpLoadOptions {
  std::string target;  // host:port
  std::string path;    // "/v1/practices/J81002", with its query string
  std::string token;   // sent as "Authorization: Bearer <token>" when not empty
  std::string accept;  // an Accept header when not empty
  int concurrency = 64;
  double duration_s = 10;
  double warmup_s = 1;
  bool json = false;
};

// Runs the load and prints the report (text, or one JSON object shaped like the gRPC mode's).
// Returns 0 when at least one call succeeded.
int RunHttpLoad(const HttpLoadOptions& options);

}  // namespace dorset::bench

#endif  // DORSET_BENCH_LOADGEN_HTTP_LOAD_H_
