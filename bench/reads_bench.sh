#!/usr/bin/env bash
# The read paths of issue 16 against echo, in alternating rounds of one run:
#   bench/reads_bench.sh [seconds per run] [rounds]
# Starts dorset-echo-bare, dorset-echo, dorset-registry (national epraccur, Dorset localities) and
# dorset-finance (seed plan) on the engine of DORSET_BENCH_DATABASE (bench/lib/common.sh), then per
# round: bare echo and runtime echo at 64 in flight, GetPractice (already read) and ListPractices
# (page of 50 by locality, national store) at 64, echo and GetReport (seed plan) at 32, bare and
# runtime echo at 1 in flight. Prints each round's ratios and their medians against the targets:
# GetPractice >= 0.9x echo, ListPractices >= 0.5x, GetReport >= 0.5x, runtime echo >= 0.9x bare.
# READS_BENCH_BUILD reuses a build (default: builds Release into build/release);
# READS_BENCH_PORT the first of the ports it takes (default 51859: +0..+3 and +100..+103), moved by
# DORSET_BENCH_PORT_OFFSET as every scenario.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-5}
rounds=${2:-3}
build=${READS_BENCH_BUILD:-build/release}
if [[ -z "${READS_BENCH_BUILD:-}" ]]; then
  source scripts/lib/configure.sh
  configure_build "$build" -DCMAKE_BUILD_TYPE=Release
  nice cmake --build "$build" -j "$(nproc)" --target dorset-echo dorset-echo-bare dorset-loadgen \
    dorset-registry dorset-finance dorsetctl >/dev/null
fi
source bench/lib/common.sh
port=$((${READS_BENCH_PORT:-51859} + port_offset))
bare_port=$port echo_port=$((port + 1)) registry_port=$((port + 2)) finance_port=$((port + 3))

"$build/bench/dorset-echo-bare" --grpc_listen=127.0.0.1:$bare_port >/dev/null &
pids+=($!)
"$build/bench/dorset-echo" "${common[@]}" --grpc_listen=127.0.0.1:$echo_port \
  --ops_listen=127.0.0.1:$((echo_port + 100)) --data_dir="$tmp/echo" &
pids+=($!)
database_flags registry
"$build/services/registry/dorset-registry" "${common[@]}" --grpc_listen=127.0.0.1:$registry_port \
  --ops_listen=127.0.0.1:$((registry_port + 100)) --data_dir="$tmp/registry" "${db[@]}" &
pids+=($!)
mkdir -p "$tmp/finance"
database_flags finance
"$build/services/finance/dorset-finance" "${common[@]}" --grpc_listen=127.0.0.1:$finance_port \
  --ops_listen=127.0.0.1:$((finance_port + 100)) --data_dir="$tmp/finance" "${db[@]}" &
pids+=($!)
for p in $echo_port $registry_port $finance_port; do wait_ready $((p + 100)); done
echo "== storage engine: $database; $rounds rounds of ${seconds}s; load average $(cut -d' ' -f1-3 /proc/loadavg)"

ctl() { "$build/cli/dorsetctl" registry "$@" --target=127.0.0.1:$registry_port; }
ctl import-epraccur data/ods/epraccur-2025-05.csv --commissioner=all >/dev/null
ctl import-localities data/dorset/localities.csv data/dorset/practice-localities.csv >/dev/null
ctl get J81002 >/dev/null

loadgen() { "$build/bench/dorset-loadgen" --duration_s="$seconds" --json "$@"; }
echo_call=(--method=/dorset.bench.v1.EchoService/Echo --request_json='{"message":"ping"}')
registry=/dorset.registry.v1.RegistryService
runs=()
for round in $(seq 1 "$rounds"); do
  echo "== round $round, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  runs+=("$(loadgen --target=127.0.0.1:$bare_port "${echo_call[@]}" --concurrency=64 --channels=4)")
  runs+=("$(loadgen --target=127.0.0.1:$echo_port "${echo_call[@]}" --concurrency=64 --channels=4)")
  runs+=("$(loadgen --target=127.0.0.1:$registry_port --method=$registry/GetPractice \
    --request_json='{"name":"practices/J81002"}' --concurrency=64 --channels=4)")
  runs+=("$(loadgen --target=127.0.0.1:$registry_port --method=$registry/ListPractices \
    --request_json='{"locality":"localities/north-bournemouth","pageSize":50}' \
    --concurrency=64 --channels=4)")
  runs+=("$(loadgen --target=127.0.0.1:$echo_port "${echo_call[@]}" --concurrency=32 --channels=4)")
  runs+=("$(loadgen --target=127.0.0.1:$finance_port --method=/dorset.finance.v1.FinanceService/GetReport \
    --request_json="$report_request_json" \
    --concurrency=32 --channels=4)")
  runs+=("$(loadgen --target=127.0.0.1:$bare_port "${echo_call[@]}" --concurrency=1 --channels=1)")
  runs+=("$(loadgen --target=127.0.0.1:$echo_port "${echo_call[@]}" --concurrency=1 --channels=1)")
  printf '%s\n' "${runs[@]: -8}" >&2
done
echo "== end, load average $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$rounds" "${runs[@]}" <<'PY'
import json, statistics, sys
rounds = int(sys.argv[1])
runs = [json.loads(a) for a in sys.argv[2:]]
names = ["bare x64", "echo x64", "GetPractice x64", "ListPractices x64", "echo x32",
         "GetReport x32", "bare x1", "echo x1"]
rows = {n: [] for n in names}
for i, r in enumerate(runs):
    rows[names[i % len(names)]].append(r)
for n, rs in rows.items():
    for r in rs:
        if r["errors"]:
            print(f"WARNING: {n} had errors: {r['error_codes']}")
ratios = {
    "runtime echo / bare, x64 (>= 0.9)": ("echo x64", "bare x64"),
    "GetPractice / echo, x64 (>= 0.9)": ("GetPractice x64", "echo x64"),
    "GetPractice / bare, x64": ("GetPractice x64", "bare x64"),
    "ListPractices / echo, x64 (>= 0.5)": ("ListPractices x64", "echo x64"),
    "ListPractices / bare, x64": ("ListPractices x64", "bare x64"),
    "GetReport / echo, x32 (>= 0.5)": ("GetReport x32", "echo x32"),
    "runtime echo / bare, x1 (>= 0.9)": ("echo x1", "bare x1"),
}
print("== per round: calls/s (p99 ms)")
for n, rs in rows.items():
    print(f"{n:18s} " + "  ".join(f"{r['qps']:8.0f} ({r['p99_ms']:.2f})" for r in rs)
          + f"   median {statistics.median(r['qps'] for r in rs):.0f}/s")
print("== ratios: median (per round)")
for label, (a, b) in ratios.items():
    per = [x["qps"] / y["qps"] if y["qps"] else 0.0 for x, y in zip(rows[a], rows[b])]
    print(f"{label:38s} {statistics.median(per):.3f}  ({', '.join(f'{p:.3f}' for p in per)})")
PY
