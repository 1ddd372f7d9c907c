#!/usr/bin/env bash
# Registry scenarios against the echo baseline measured in the same run.
#   bench/registry_bench.sh [seconds]
# Builds Release into build/registry-release, starts dorset-echo and dorset-registry
# (plaintext, auth none, rate limit off, in-process cache, fresh store) and:
#   1. imports the national epraccur (all commissioners, ~16.5k practices) with dorsetctl and
#      times it (target <= 2 s); then re-imports it (nothing changes) and times that;
#   2. loads the Dorset localities + mapping and the 11J list sizes;
#   3. echo at 64 in flight                                   -> baseline QPS
#   4. GetPractice of a practice already read, 64 in flight   -> QPS / echo (target >= 0.7)
#   5. ListPractices, page of 50 filtered by locality, over the national store:
#      1 in flight -> p99 (target <= 5 ms); 64 in flight -> QPS.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
build=${REGISTRY_BENCH_BUILD:-build/registry-release}
if [[ -f scripts/lib/configure.sh ]]; then
  source scripts/lib/configure.sh
  configure_build "$build" -DCMAKE_BUILD_TYPE=Release
else
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
nice cmake --build "$build" -j "$(nproc)" --target dorset-echo dorset-registry dorset-loadgen dorsetctl >/dev/null
source bench/lib/common.sh
echo_port=$((50359 + port_offset))
registry_port=$((50360 + port_offset))

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

ctl() { "$build/cli/dorsetctl" registry "$@" --target=127.0.0.1:$registry_port; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

echo "== import of the national epraccur (all commissioners), empty store"
start=$(date +%s%N)
ctl import-epraccur data/ods/epraccur-2025-05.csv --commissioner=all | head -4
import_ms=$(ms_since "$start")
echo "import_ms=$import_ms"
echo "== the same file again (unchanged)"
start=$(date +%s%N)
ctl import-epraccur data/ods/epraccur-2025-05.csv --commissioner=all | head -4
reimport_ms=$(ms_since "$start")
echo "reimport_ms=$reimport_ms"
ctl import-localities data/dorset/localities.csv data/dorset/practice-localities.csv >/dev/null
ctl import-list-sizes data/ods/gp-reg-pat-prac-all-2021-01.csv >/dev/null

loadgen() { "$build/bench/dorset-loadgen" --duration_s="$seconds" --json "$@"; }
method=/dorset.registry.v1.RegistryService

echo "== echo, 64 in flight"
echo_json=$(loadgen --target=127.0.0.1:$echo_port --method=/dorset.bench.v1.EchoService/Echo \
  --request_json='{"message":"ping"}' --concurrency=64 --channels=4)
echo "$echo_json"

ctl get J81002 >/dev/null  # read once: later reads are served from the read cache
echo "== GetPractice (already read), 64 in flight"
get_json=$(loadgen --target=127.0.0.1:$registry_port --method=$method/GetPractice \
  --request_json='{"name":"practices/J81002"}' --concurrency=64 --channels=4)
echo "$get_json"

list_request='{"locality":"localities/north-bournemouth","pageSize":50}'
echo "== ListPractices (page of 50, by locality, national store), 1 in flight"
list1_json=$(loadgen --target=127.0.0.1:$registry_port --method=$method/ListPractices \
  --request_json="$list_request" --concurrency=1 --channels=1)
echo "$list1_json"
echo "== ListPractices (page of 50, by locality, national store), 64 in flight"
list64_json=$(loadgen --target=127.0.0.1:$registry_port --method=$method/ListPractices \
  --request_json="$list_request" --concurrency=64 --channels=4)
echo "$list64_json"
echo "== ListPractices (page of 50, ACTIVE, name contains SURGERY, national store), 1 in flight"
scan_json=$(loadgen --target=127.0.0.1:$registry_port --method=$method/ListPractices \
  --request_json='{"statuses":["STATUS_ACTIVE"],"nameContains":"surgery","pageSize":50}' \
  --concurrency=1 --channels=1)
echo "$scan_json"

python3 - "$echo_json" "$get_json" "$list1_json" "$list64_json" "$scan_json" "$import_ms" \
  "$reimport_ms" <<'PY'
import json, sys
echo, get, list1, list64, scan = (json.loads(a) for a in sys.argv[1:6])
import_ms, reimport_ms = int(sys.argv[6]), int(sys.argv[7])
for name, r in (("GetPractice", get), ("ListPractices x1", list1), ("ListPractices x64", list64),
                ("ListPractices scan x1", scan)):
    if r["errors"]:
        print(f"WARNING: {name} had errors: {r['error_codes']}")
ratio = get["qps"] / echo["qps"] if echo["qps"] else 0.0
print("== summary")
print(f"echo qps (64 in flight)                   {echo['qps']:.0f}")
print(f"GetPractice qps (64 in flight)            {get['qps']:.0f}  ratio {ratio:.2f}  (target >= 0.70)")
print(f"ListPractices by locality p99 (1 in flight) {list1['p99_ms']:.2f} ms  (target <= 5 ms)")
print(f"ListPractices by locality qps (64 in flight) {list64['qps']:.0f}  p99 {list64['p99_ms']:.2f} ms")
print(f"ListPractices name scan p99 (1 in flight) {scan['p99_ms']:.2f} ms")
print(f"national epraccur import                  {import_ms} ms  (target <= 2000 ms)")
print(f"national epraccur re-import (unchanged)   {reimport_ms} ms")
PY
