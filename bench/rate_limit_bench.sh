#!/usr/bin/env bash
# The cost of the shared rate limit (issue 13): the call gate's check with each replica's own in-memory bucket
# against the sliding window kept in Redis (one EVAL round trip to a redis-server on 127.0.0.1), in the same run,
# alternating rounds; prints microseconds per check (medians) and their ratio.
#   bench/rate_limit_bench.sh [calls per round] [rounds]
# Builds Release into build/replicas-release (RATE_LIMIT_BENCH_BUILD to reuse another).
set -euo pipefail
cd "$(dirname "$0")/.."
calls=${1:-20000}
rounds=${2:-5}
build=${RATE_LIMIT_BENCH_BUILD:-build/replicas-release}
if [[ -f scripts/lib/configure.sh ]]; then
  source scripts/lib/configure.sh
  configure_build "$build" -DCMAKE_BUILD_TYPE=Release
fi
nice cmake --build "$build" -j "$(nproc)" --target dorset-rate-limit-bench >/dev/null
"$build/bench/dorset-rate-limit-bench" --calls="$calls" --rounds="$rounds"
