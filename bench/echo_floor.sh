#!/usr/bin/env bash
# The runtime's echo against the floor of a unary call, measured in the same run.
#   bench/echo_floor.sh [seconds per run] [rounds]
# Builds Release into build/release (ECHO_FLOOR_BUILD to reuse another build), starts
#   dorset-echo       the runtime's echo (interceptor, gate, metrics, access log: the baseline
#                     every other scenario is divided by), with the flags of every benchmark;
#   dorset-echo-bare  the same echo.proto on gRPC's callback API with none of the runtime;
# and, for each round, runs dorset-loadgen against bare then runtime at 64 in flight (4 channels)
# and at 1 in flight (1 channel). Prints each round's ratios (runtime QPS / bare QPS, and the
# p99s) and their medians; target: runtime echo >= 0.9x bare (issue 16).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-5}
rounds=${2:-3}
build=${ECHO_FLOOR_BUILD:-build/release}
if [[ -z "${ECHO_FLOOR_BUILD:-}" ]]; then
  source scripts/lib/configure.sh
  configure_build "$build" -DCMAKE_BUILD_TYPE=Release
  nice cmake --build "$build" -j "$(nproc)" --target dorset-echo dorset-echo-bare dorset-loadgen >/dev/null
fi
source bench/lib/common.sh
echo_port=$((50459 + port_offset))
bare_port=$((50460 + port_offset))

wait_port() {  # wait_port <port>: until something accepts on 127.0.0.1:<port> (30 s at most)
  for _ in $(seq 1 3000); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.01
  done
  echo "nothing listens on port $1" >&2
  return 1
}

"$build/bench/dorset-echo" "${common[@]}" --grpc_listen=127.0.0.1:$echo_port \
  --ops_listen=127.0.0.1:$((echo_port + 100)) --data_dir="$tmp/echo" &
pids+=($!)
"$build/bench/dorset-echo-bare" --grpc_listen=127.0.0.1:$bare_port >/dev/null &
pids+=($!)
wait_ready $((echo_port + 100))
wait_port $bare_port

loadgen() { "$build/bench/dorset-loadgen" --duration_s="$seconds" --json \
  --method=/dorset.bench.v1.EchoService/Echo --request_json='{"message":"ping"}' "$@"; }
runs=()
for round in $(seq 1 "$rounds"); do
  echo "== round $round, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  for inflight in 64 1; do
    channels=$((inflight > 1 ? 4 : 1))
    for server in bare runtime; do
      port=$([ $server = bare ] && echo $bare_port || echo $echo_port)
      runs+=("$(loadgen --target=127.0.0.1:$port --concurrency=$inflight --channels=$channels)")
      echo "$server x$inflight ${runs[-1]}"
    done
  done
done
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "${runs[@]}" <<'PY'
import json, statistics, sys
runs = [json.loads(a) for a in sys.argv[1:]]
print("== summary (runtime echo / bare echo, same round)")
for inflight in (64, 1):
    pairs = [(runs[i], runs[i + 1]) for i in range(0, len(runs), 2) if runs[i]["concurrency"] == inflight]
    ratios = [r["qps"] / b["qps"] for b, r in pairs if b["qps"]]
    for n, (b, r) in enumerate(pairs, 1):
        print(f"x{inflight:<2} round {n}: bare {b['qps']:.0f}/s p99 {b['p99_ms']:.3f} ms  runtime {r['qps']:.0f}/s "
              f"p99 {r['p99_ms']:.3f} ms  ratio {r['qps'] / b['qps']:.3f}  errors {b['errors'] + r['errors']}")
    print(f"x{inflight:<2} median: bare {statistics.median(b['qps'] for b, _ in pairs):.0f}/s  runtime "
          f"{statistics.median(r['qps'] for _, r in pairs):.0f}/s  ratio {statistics.median(ratios):.3f}  "
          f"(target >= 0.9)  p99 bare {statistics.median(b['p99_ms'] for b, _ in pairs):.3f} ms, runtime "
          f"{statistics.median(r['p99_ms'] for _, r in pairs):.3f} ms")
PY
