#!/usr/bin/env bash
# The runtime's echo against the floor of a unary call, measured in the same run.
#   bench/echo_floor.sh [seconds per run] [rounds]
# Builds Release into build/release (ECHO_FLOOR_BUILD to reuse another build), starts
#   dorset-echo       the runtime's echo (call observation, gate, metrics, access log: the baseline
#                     every other scenario is divided by), with the flags of every benchmark;
#   dorset-echo-bare  the same echo.proto on gRPC's callback API with none of the runtime;
# and, for each round, runs dorset-loadgen against bare then runtime at 64 in flight (4 channels)
# and at 1 in flight (1 channel). Prints each round's ratios (runtime QPS / bare QPS, and the
# p99s) and their medians; target: runtime echo >= 0.9x bare (issue 16).
# ECHO_FLOOR_OLD=<an older dorset-echo binary> adds it as a third server ("old"), the order of the
# three rotating each round, and prints old/bare and runtime/old too (a change's before/after).
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
servers=(bare runtime)
if [[ -n "${ECHO_FLOOR_OLD:-}" ]]; then
  old_port=$((50461 + port_offset))
  "$ECHO_FLOOR_OLD" "${common[@]}" --grpc_listen=127.0.0.1:$old_port \
    --ops_listen=127.0.0.1:$((old_port + 100)) --data_dir="$tmp/old" &
  pids+=($!)
  wait_ready $((old_port + 100))
  servers=(bare runtime old)
fi
wait_ready $((echo_port + 100))
wait_port $bare_port

loadgen() { "$build/bench/dorset-loadgen" --duration_s="$seconds" --json \
  --method=/dorset.bench.v1.EchoService/Echo --request_json='{"message":"ping"}' "$@"; }
runs=()
for round in $(seq 1 "$rounds"); do
  echo "== round $round, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  for inflight in 64 1; do
    channels=$((inflight > 1 ? 4 : 1))
    n=${#servers[@]}
    for i in $(seq 0 $((n - 1))); do
      server=${servers[$(((i + round) % n))]}
      case $server in bare) port=$bare_port ;; runtime) port=$echo_port ;; old) port=$old_port ;; esac
      run=$(loadgen --target=127.0.0.1:$port --concurrency=$inflight --channels=$channels)
      runs+=("$server $round $run")
      echo "$server x$inflight $run"
    done
  done
done
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "${runs[@]}" <<'PY'
import json, statistics, sys
runs = {}  # (server, round, in flight) -> loadgen's JSON
for arg in sys.argv[1:]:
    server, rnd, text = arg.split(" ", 2)
    run = json.loads(text)
    runs[(server, int(rnd), run["concurrency"])] = run
servers = [s for s in ("bare", "runtime", "old") if any(k[0] == s for k in runs)]
rounds = sorted({k[1] for k in runs})
pairs = [("runtime", "bare")] + ([("old", "bare"), ("runtime", "old")] if "old" in servers else [])
print("== summary (QPS ratios within each round; medians over the rounds)")
for inflight in (64, 1):
    def run(s, n):
        return runs[(s, n, inflight)]
    def ratio(a, b, n):
        return run(a, n)["qps"] / run(b, n)["qps"]
    for n in rounds:
        line = "  ".join(f"{s} {run(s, n)['qps']:.0f}/s p99 {run(s, n)['p99_ms']:.3f} ms" for s in servers)
        errors = sum(run(s, n)["errors"] for s in servers)
        print(f"x{inflight:<2} round {n}: {line}  runtime/bare {ratio('runtime', 'bare', n):.3f}  errors {errors}")
    medians = "  ".join(f"{s} {statistics.median(run(s, n)['qps'] for n in rounds):.0f}/s p99 "
                        f"{statistics.median(run(s, n)['p99_ms'] for n in rounds):.3f} ms" for s in servers)
    ratios = "  ".join(f"{a}/{b} {statistics.median(ratio(a, b, n) for n in rounds):.3f} "
                       f"({', '.join(f'{ratio(a, b, n):.2f}' for n in rounds)})" for a, b in pairs)
    print(f"x{inflight:<2} median: {medians}  {ratios}  (target runtime/bare >= 0.9)")
PY
