#!/usr/bin/env bash
# Name search over the national store against echo in the same rounds (issue 16).
#   bench/search_bench.sh [seconds per run] [rounds]
# Builds Release into build/release (SEARCH_BENCH_BUILD to reuse another build), starts
# dorset-echo and dorset-registry (flags of every benchmark, DORSET_BENCH_DATABASE engine), imports
# the national epraccur (all commissioners, ~16.5k practices) and then, per round, alternating:
#   echo at 1 in flight (1 channel) and at 64 (4 channels);
#   ListPractices, page of 50, for each search below, at 1 and at 64 in flight:
#     common  ACTIVE practices whose name contains "surgery" (~3,100 names; the query
#             registry_bench.sh times as the name scan)
#     rare    name contains "orchid" (one practice)
#     postcode  postcode starts with "BH22"
# The bench repeats one request per search, so the registry's reply cache (replies kept per data
# version, bench/README.md) answers all but the first call. SEARCH_BENCH_SERVERS measures several
# registries in the same rounds, each with a store of its own: space-separated
# label=build[:VAR=value,...], the registry started with those environment variables, e.g.
# DORSET_REGISTRY_REPLY_CACHE=off (no reply kept: every call does the store's work, as every call
# after a write would) and DORSET_REGISTRY_PRACTICE_BYTES=off (pages built as messages):
#   SEARCH_BENCH_SERVERS="cached=build/release
#     messages=build/release:DORSET_REGISTRY_REPLY_CACHE=off,DORSET_REGISTRY_PRACTICE_BYTES=off
#     bytes=build/release:DORSET_REGISTRY_REPLY_CACHE=off"
# (default: registry=<the build>). The summary has one block per registry.
# SEARCH_BENCH_CTL: another dorsetctl for the import (it only loads the store; not measured).
# Targets (issue 16): p99 at 1 in flight <= 5x echo's p99 at 1 in flight; calls/s at 64 in flight
# >= 0.3x echo's. Prints every round and the medians of the per-round ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-5}
rounds=${2:-3}
build=${SEARCH_BENCH_BUILD:-build/release}
if [[ -z "${SEARCH_BENCH_BUILD:-}" ]]; then
  source scripts/lib/configure.sh
  configure_build "$build" -DCMAKE_BUILD_TYPE=Release
  nice cmake --build "$build" -j "$(nproc)" --target dorset-echo dorset-registry dorset-loadgen \
    dorsetctl >/dev/null
fi
source bench/lib/common.sh
echo_port=${SEARCH_BENCH_PORT:-$((50559 + port_offset))}
registry_port=$((echo_port + 1))

"$build/bench/dorset-echo" "${common[@]}" --grpc_listen=127.0.0.1:$echo_port \
  --ops_listen=127.0.0.1:$((echo_port + 100)) --data_dir="$tmp/echo" &
pids+=($!)
wait_ready $((echo_port + 100))
echo "== storage engine: $database"
read -r -a servers <<<"${SEARCH_BENCH_SERVERS:-registry=$build}"
labels=()
declare -A ports=()
n=0
for server in "${servers[@]}"; do
  label=${server%%=*}
  spec=${server#*=}
  server_build=${spec%%:*}
  settings=()
  [[ "$spec" == *:* ]] && IFS=, read -r -a settings <<<"${spec#*:}"
  n=$((n + 1))
  port=$((registry_port + n - 1))
  [ "$n" -gt 1 ] && port=$((echo_port + 10 + n))
  store=registry
  [ "$n" -gt 1 ] && store=registry$n
  database_flags "$store"
  echo "== $label: $server_build/services/registry/dorset-registry on :$port ${settings[*]}"
  env "${settings[@]}" "$server_build/services/registry/dorset-registry" \
    "${common[@]}" --grpc_listen=127.0.0.1:$port --ops_listen=127.0.0.1:$((port + 100)) \
    --data_dir="$tmp/$store" "${db[@]}" &
  pids+=($!)
  wait_ready $((port + 100))
  ${SEARCH_BENCH_CTL:-$build/cli/dorsetctl} registry import-epraccur data/ods/epraccur-2025-05.csv \
    --commissioner=all --target=127.0.0.1:$port | head -2
  labels+=("$label")
  ports[$label]=$port
done

method=/dorset.registry.v1.RegistryService/ListPractices
declare -A searches=(
  [common]='{"statuses":["STATUS_ACTIVE"],"nameContains":"surgery","pageSize":50}'
  [rare]='{"nameContains":"orchid","pageSize":50}'
  [postcode]='{"postcodePrefix":"BH22","pageSize":50}'
)
names=(common rare postcode)
run() {  # run <label> <port> <method> <json> <in flight>
  local channels=$(($5 > 1 ? 4 : 1))
  local out
  out=$("$build/bench/dorset-loadgen" --duration_s="$seconds" --json --target=127.0.0.1:$2 \
    --method="$3" --request_json="$4" --concurrency="$5" --channels=$channels)
  echo "$1 x$5 $out"
  results+=("$1 $5 $out")
}
results=()
for round in $(seq 1 "$rounds"); do
  echo "== round $round, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  for inflight in 1 64; do
    run "echo@$round" $echo_port /dorset.bench.v1.EchoService/Echo '{"message":"ping"}' $inflight
    for label in "${labels[@]}"; do
      for name in "${names[@]}"; do
        run "$label/$name@$round" "${ports[$label]}" $method "${searches[$name]}" $inflight
      done
    done
  done
done
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

printf '%s\n' "${results[@]}" >"$tmp/results"
python3 - "$tmp/results" "${labels[@]}" <<'PY'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    label, inflight, payload = line.split(" ", 2)
    name, rnd = label.split("@")
    runs[(name, int(rnd), int(inflight))] = json.loads(payload)
rounds = sorted({r for _, r, _ in runs})
med = statistics.median
for (name, rnd, inflight), r in sorted(runs.items()):
    if r["errors"]:
        print(f"WARNING: {name} round {rnd} x{inflight}: errors {r['error_codes']}")
print("== summary (medians over rounds; each ratio taken against echo of the same round)")
e1 = [runs[("echo", r, 1)] for r in rounds]
e64 = [runs[("echo", r, 64)] for r in rounds]
print(f"echo x1: p99 {med(e['p99_ms'] for e in e1):.3f} ms, {med(e['qps'] for e in e1):.0f}/s;  "
      f"echo x64: {med(e['qps'] for e in e64):.0f}/s, p99 {med(e['p99_ms'] for e in e64):.2f} ms")
for label in sys.argv[2:]:
  print(f"-- {label}")
  for search in ("common", "rare", "postcode"):
    name = f"{label}/{search}"
    s1 = [runs[(name, r, 1)] for r in rounds]
    s64 = [runs[(name, r, 64)] for r in rounds]
    p99 = [s["p99_ms"] / e["p99_ms"] for s, e in zip(s1, e1) if e["p99_ms"]]
    qps = [s["qps"] / e["qps"] for s, e in zip(s64, e64) if e["qps"]]
    print(f"{search:8} x1:  p50 {med(s['p50_ms'] for s in s1):.3f} ms, p99 {med(s['p99_ms'] for s in s1):.3f} ms"
          f" = {med(p99):.2f}x echo's p99 ({', '.join(f'{x:.2f}' for x in p99)}; target <= 5)")
    print(f"{search:8} x64: {med(s['qps'] for s in s64):.0f}/s = {med(qps):.3f}x echo"
          f" ({', '.join(f'{x:.3f}' for x in qps)}; target >= 0.3), p99 {med(s['p99_ms'] for s in s64):.2f} ms")
PY
