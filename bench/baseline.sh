#!/usr/bin/env bash
# The baseline every benchmark is divided by, plus the servers' start-up time and idle memory.
#   bench/baseline.sh [seconds]
# Builds Release into build/release (BASELINE_BENCH_BUILD to reuse another build), then:
#   1. echo QPS and latency at 64 calls in flight over 4 channels (dorset-echo, same runtime);
#   2. for each service binary: time from exec to /readyz 200, and VmRSS after 2 s idle.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
build=${BASELINE_BENCH_BUILD:-build/release}
if [[ -z "${BASELINE_BENCH_BUILD:-}" ]]; then
  source scripts/lib/configure.sh
  configure_build "$build" -DCMAKE_BUILD_TYPE=Release
fi
nice cmake --build "$build" -j "$(nproc)" --target dorset-echo dorset-loadgen dorset-registry \
  dorset-finance dorset-engagement >/dev/null
source bench/lib/common.sh

echo "== echo baseline (64 in flight, 4 channels, ${seconds}s)"
"$build/bench/dorset-echo" "${common[@]}" --grpc_listen=127.0.0.1:$((50159 + port_offset)) --ops_listen=127.0.0.1:$((50259 + port_offset)) \
  --data_dir="$tmp/echo" &
pids+=($!)
wait_ready $((50259 + port_offset))
"$build/bench/dorset-loadgen" --target=127.0.0.1:$((50159 + port_offset)) --method=/dorset.bench.v1.EchoService/Echo \
  --request_json='{"message":"ping"}' --concurrency=64 --channels=4 --duration_s="$seconds" --json
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true

echo "== start-up and idle memory (storage engine: $database)"
port=$((50160 + port_offset))
for svc in registry finance engagement; do
  database_flags "$svc"
  start=$(date +%s%N)
  "$build/services/$svc/dorset-$svc" "${common[@]}" --grpc_listen=127.0.0.1:$port \
    --ops_listen=127.0.0.1:$((port + 100)) --data_dir="$tmp/$svc" "${db[@]}" &
  pid=$!
  pids+=($pid)
  wait_ready $((port + 100))
  ready=$(date +%s%N)
  sleep 2
  rss_kb=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
  awk -v s="$svc" -v ms=$(((ready - start) / 1000000)) -v kb="$rss_kb" \
    'BEGIN { printf "{\"service\":\"%s\",\"start_to_ready_ms\":%d,\"idle_rss_mib\":%.1f}\n", s, ms, kb / 1024 }'
  kill -TERM $pid; wait $pid 2>/dev/null || true
  port=$((port + 1))
done
