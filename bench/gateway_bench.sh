#!/usr/bin/env bash
# The gateway (issue 14) against direct gRPC and echo, measured in the same run, alternating.
#   bench/gateway_bench.sh [seconds] [rounds] [gateway threads]
# Builds Release into build/gateway-release, starts dorset-echo, dorset-registry (plaintext,
# auth none, rate limit off, fresh store with the national epraccur) and dorset-gateway in front
# of the registry, then per round:
#   1. GetPractice (already read) over gRPC directly, 64 in flight         -> gRPC QPS
#   2. the same through the gateway: GET /v1/practices/J81002, 64 in flight -> REST QPS
#      (target REST >= 0.5x gRPC)
#   3. echo, 1 in flight                                                   -> echo calls/s
#   4. FHIR search by postcode prefix over the national extract, 1 in flight:
#      GET /fhir/R4/Organization?address-postalcode=BH15 (a page of 20 and the total)
#      (target >= 0.2x echo at 1 in flight)
# The summary gives each round, the CPU per call of the registry and of the gateway (from
# /proc, the load's whole window: no warm-up is left out), and the medians. dorset-loadgen's HTTP mode (--http_path) runs
# the REST and FHIR loads, one keep-alive connection per in-flight call.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-8}
rounds=${2:-3}
gateway_threads=${3:-64}
build=${GATEWAY_BENCH_BUILD:-build/gateway-release}
if [[ -f scripts/lib/configure.sh ]]; then
  source scripts/lib/configure.sh
  configure_build "$build" -DCMAKE_BUILD_TYPE=Release
else
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
nice cmake --build "$build" -j "$(nproc)" \
  --target dorset-echo dorset-registry dorset-loadgen dorsetctl dorset-gateway >/dev/null
source bench/lib/common.sh
echo_port=$((50459 + port_offset))
registry_port=$((50460 + port_offset))
gateway_port=$((50461 + port_offset))

"$build/bench/dorset-echo" "${common[@]}" --grpc_listen=127.0.0.1:$echo_port \
  --ops_listen=127.0.0.1:$((echo_port + 100)) --data_dir="$tmp/echo" &
pids+=($!)
database_flags registry
echo "== storage engine: $database"
"$build/services/registry/dorset-registry" "${common[@]}" --grpc_listen=127.0.0.1:$registry_port \
  --ops_listen=127.0.0.1:$((registry_port + 100)) --data_dir="$tmp/registry" "${db[@]}" &
pids+=($!)
wait_ready $((echo_port + 100))
wait_ready $((registry_port + 100))
registry_pid=$!
"$build/gateway/dorset-gateway" --plaintext=true --http_listen=127.0.0.1:$gateway_port \
  --registry_target=127.0.0.1:$registry_port --threads="$gateway_threads" 2>"$tmp/gateway.log" &
pids+=($!)
gateway_pid=$!
for _ in $(seq 1 3000); do
  curl -sf "http://127.0.0.1:$gateway_port/livez" >/dev/null 2>&1 && break
  sleep 0.01
done

ctl() { "$build/cli/dorsetctl" registry "$@" --target=127.0.0.1:$registry_port; }
echo "== national epraccur (all commissioners), Dorset localities"
ctl import-epraccur data/ods/epraccur-2025-05.csv --commissioner=all | head -2
ctl import-localities data/dorset/localities.csv data/dorset/practice-localities.csv >/dev/null

# CPU time (clock ticks) the registry and the gateway used during one load, as JSON fields
# added to the load generator's line: where a call's CPU goes on this shared machine.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
loadgen() {
  local r0 g0 line
  r0=$(ticks "$registry_pid")
  g0=$(ticks "$gateway_pid")
  # dorset-loadgen's gRPC mode has aborted at exit now and then (gRPC "ref_counted.h: assertion
  # failed: prior > 0", seen once in ~50 loads): such a load is run again rather than lost.
  for _ in 1 2 3; do
    line=$("$build/bench/dorset-loadgen" --duration_s="$seconds" --warmup_s=0 --json "$@" \
      2>/dev/null | grep '^{' || true)
    [[ -n $line ]] && break
    echo "load generator failed; running this load again" >&2
    r0=$(ticks "$registry_pid")
    g0=$(ticks "$gateway_pid")
  done
  echo "${line%\}},\"registry_ticks\":$(( $(ticks "$registry_pid") - r0 )),\"gateway_ticks\":$(( $(ticks "$gateway_pid") - g0 )),\"hz\":$(getconf CLK_TCK)}"
}
fhir_path='/fhir/R4/Organization?address-postalcode=BH15'
echo "== FHIR search answer"
curl -s "http://127.0.0.1:$gateway_port$fhir_path" | python3 -c '
import json, sys
b = json.load(sys.stdin)
print("total", b.get("total"), "entries", len(b.get("entry", [])), "type", b.get("type"))'
ctl get J81002 >/dev/null  # read once: later reads are served from the read cache
curl -sf "http://127.0.0.1:$gateway_port/v1/practices/J81002" >/dev/null

results=()
for round in $(seq 1 "$rounds"); do
  echo "== round $round"
  grpc_json=$(loadgen --target=127.0.0.1:$registry_port \
    --method=/dorset.registry.v1.RegistryService/GetPractice \
    --request_json='{"name":"practices/J81002"}' --concurrency=64 --channels=4)
  echo "$grpc_json"
  rest_json=$(loadgen --target=127.0.0.1:$gateway_port --http_path=/v1/practices/J81002 \
    --concurrency=64)
  echo "$rest_json"
  echo1_json=$(loadgen --target=127.0.0.1:$echo_port --method=/dorset.bench.v1.EchoService/Echo \
    --request_json='{"message":"ping"}' --concurrency=1 --channels=1)
  echo "$echo1_json"
  fhir_json=$(loadgen --target=127.0.0.1:$gateway_port --http_path="$fhir_path" \
    --accept=application/fhir+json --concurrency=1)
  echo "$fhir_json"
  results+=("$grpc_json" "$rest_json" "$echo1_json" "$fhir_json")
done

python3 - "${results[@]}" <<'PY'
import json, statistics, sys
runs = [json.loads(a) for a in sys.argv[1:]]
rounds = [runs[i:i + 4] for i in range(0, len(runs), 4)]
rest_ratios, fhir_ratios = [], []
print("== summary")
for n, (grpc, rest, echo1, fhir) in enumerate(rounds, 1):
    for name, r in (("gRPC", grpc), ("REST", rest), ("echo x1", echo1), ("FHIR", fhir)):
        if r["errors"]:
            print(f"WARNING: round {n} {name} had errors: {r['error_codes']}")
    rest_ratio = rest["qps"] / grpc["qps"] if grpc["qps"] else 0.0
    fhir_ratio = fhir["qps"] / echo1["qps"] if echo1["qps"] else 0.0
    rest_ratios.append(rest_ratio)
    fhir_ratios.append(fhir_ratio)
    def us(r, key):  # CPU microseconds per answered call
        return r[key] / r["hz"] * 1e6 / r["calls"] if r["calls"] else 0.0
    print(f"round {n}: CPU per call - gRPC: registry {us(grpc, 'registry_ticks'):.0f} us; "
          f"REST: gateway {us(rest, 'gateway_ticks'):.0f} us + registry "
          f"{us(rest, 'registry_ticks'):.0f} us; FHIR search: gateway "
          f"{us(fhir, 'gateway_ticks'):.0f} us + registry {us(fhir, 'registry_ticks'):.0f} us")
    print(f"round {n}: GetPractice gRPC {grpc['qps']:.0f}/s, REST {rest['qps']:.0f}/s "
          f"(p50 {rest['p50_ms']:.2f} ms, p99 {rest['p99_ms']:.2f} ms) = {rest_ratio:.2f}x; "
          f"echo x1 {echo1['qps']:.0f}/s, FHIR postcode search x1 {fhir['qps']:.0f}/s "
          f"(p50 {fhir['p50_ms']:.2f} ms, p99 {fhir['p99_ms']:.2f} ms) = {fhir_ratio:.2f}x")
print(f"median REST/gRPC GetPractice at 64 in flight: {statistics.median(rest_ratios):.2f}x (target >= 0.50)")
print(f"median FHIR postcode search / echo at 1 in flight: {statistics.median(fhir_ratios):.2f}x (target >= 0.20)")
PY
