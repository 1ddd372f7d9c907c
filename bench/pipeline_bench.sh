#!/usr/bin/env bash
# libpq pipeline mode on PostgreSQL (issue 12): BEGIN sent with a transaction's first statement
# (one round trip instead of two) against BEGIN as a round trip of its own
# (DORSET_DATABASE_PIPELINE=off), on ONE PostgreSQL 15 of the run's own, in the same rounds.
#   bench/pipeline_bench.sh [seconds per run] [rounds]
# Builds Release into build/pipeline-release and starts dorset-echo and two dorset-finance
# servers, each on its own database: "on" (the default) and "off". Per round, alternating:
#   1. echo at 32 in flight                                  -> baseline QPS
#   2. CreatePosting at 32 in flight on "on", then on "off"  -> acknowledged postings/s
#   3. GetReport at 1 in flight on "on", then on "off"        -> p50/p99 (one read transaction of
#      four queries: 6 round trips with BEGIN alone, 5 with it pipelined)
# and prints the median per-round ratios (postings/echo, on/off) and the report latencies; then,
# when strace is installed, counts (not times) the round trips: libpq's send() calls (sendto) of
# each finance process during exactly 200 GetReport and 200 CreatePosting calls at 1 in flight.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-8}
rounds=${2:-3}
build=${PIPELINE_BENCH_BUILD:-build/pipeline-release}
source scripts/lib/configure.sh
configure_build "$build" -DCMAKE_BUILD_TYPE=Release
nice cmake --build "$build" -j "$(nproc)" --target dorset-echo dorset-finance dorset-loadgen >/dev/null
export DORSET_BENCH_DATABASE=postgres
source bench/lib/common.sh
echo_port=51059
on_port=51060
off_port=51061

"$build/bench/dorset-echo" "${common[@]}" --grpc_listen=127.0.0.1:$echo_port \
  --ops_listen=127.0.0.1:$((echo_port + 100)) --data_dir="$tmp/echo" &
pids+=($!)
declare -A finance_pid
for side in on off; do
  port=$on_port
  [ "$side" = off ] && port=$off_port
  mkdir -p "$tmp/finance-$side"
  database_flags "finance_$side"
  DORSET_DATABASE_PIPELINE=$side "$build/services/finance/dorset-finance" "${common[@]}" \
    --grpc_listen=127.0.0.1:$port --ops_listen=127.0.0.1:$((port + 100)) \
    --data_dir="$tmp/finance-$side" "${db[@]}" &
  pids+=($!)
  finance_pid[$side]=$!
done
wait_ready $((echo_port + 100))
wait_ready $((on_port + 100))
wait_ready $((off_port + 100))

loadgen() { "$build/bench/dorset-loadgen" --duration_s="$seconds" --json "$@"; }
scheme='plans/dorset-stp/programmes/managing-demand/schemes/rightcare'
posting() {
  loadgen --target=127.0.0.1:$1 --method=/dorset.finance.v1.FinanceService/CreatePosting \
    --request_json="{\"requestId\":\"bench-{{seq}}\",\"posting\":{\"scheme\":\"$scheme\",\"financialYear\":\"2020-21\",\"month\":6,\"kind\":2,\"amount\":{\"pence\":\"1\"},\"reason\":\"bench\"}}" \
    --concurrency=32 --channels=4
}
report() {
  loadgen --target=127.0.0.1:$1 --method=/dorset.finance.v1.FinanceService/GetReport \
    --request_json='{"name":"plans/dorset-stp/report","financialYear":"2020-21","month":6}' --concurrency=1 --channels=1
}

echo_runs=(); on_posts=(); off_posts=(); on_reports=(); off_reports=()
for round in $(seq 1 "$rounds"); do
  echo "== round $round"
  echo_runs+=("$(loadgen --target=127.0.0.1:$echo_port --method=/dorset.bench.v1.EchoService/Echo \
    --request_json='{"message":"ping"}' --concurrency=32 --channels=4)")
  if (( round % 2 )); then
    on_posts+=("$(posting $on_port)"); off_posts+=("$(posting $off_port)")
    on_reports+=("$(report $on_port)"); off_reports+=("$(report $off_port)")
  else
    off_posts+=("$(posting $off_port)"); on_posts+=("$(posting $on_port)")
    off_reports+=("$(report $off_port)"); on_reports+=("$(report $on_port)")
  fi
  echo "echo ${echo_runs[-1]}"
  echo "postings on  ${on_posts[-1]}"
  echo "postings off ${off_posts[-1]}"
  echo "report on  ${on_reports[-1]}"
  echo "report off ${off_reports[-1]}"
done

python3 - "$(printf '%s\n' "${echo_runs[@]}")" "$(printf '%s\n' "${on_posts[@]}")" \
  "$(printf '%s\n' "${off_posts[@]}")" "$(printf '%s\n' "${on_reports[@]}")" \
  "$(printf '%s\n' "${off_reports[@]}")" <<'PY'
import json, statistics, sys
runs = [[json.loads(l) for l in arg.splitlines() if l.strip()] for arg in sys.argv[1:]]
echo, on, off, rep_on, rep_off = runs
errors = sum(r.get("errors", 0) for group in runs for r in group)
qps = lambda r: r["qps"]
print("== summary (median of per-round values)")
print("echo QPS:              %8.0f" % statistics.median(qps(r) for r in echo))
print("postings/s on / off:   %8.0f / %.0f" % (statistics.median(qps(r) for r in on), statistics.median(qps(r) for r in off)))
print("postings/echo on/off:  %.3fx / %.3fx" % (statistics.median(qps(a) / qps(e) for a, e in zip(on, echo)),
                                                 statistics.median(qps(a) / qps(e) for a, e in zip(off, echo))))
print("postings on/off:       %.3f" % statistics.median(qps(a) / qps(b) for a, b in zip(on, off)))
for name, key in (("p50", "p50_ms"), ("p99", "p99_ms")):
    print("GetReport 1 in flight %s on / off: %.3f / %.3f ms (on/off %.3f)" % (
        name, statistics.median(r[key] for r in rep_on), statistics.median(r[key] for r in rep_off),
        statistics.median(a[key] / b[key] for a, b in zip(rep_on, rep_off))))
print("errors in all runs: %d" % errors)
print("GetReport 1 in flight QPS on/off: %.3f" % statistics.median(qps(a) / qps(b) for a, b in zip(rep_on, rep_off)))
PY

command -v strace >/dev/null || { echo "(no strace: round trips not counted)"; exit 0; }
echo "== round trips to PostgreSQL (libpq send() calls), 200 calls at 1 in flight after 50 to warm up"
for side in on off; do
  port=$on_port
  [ "$side" = off ] && port=$off_port
  for method in GetReport CreatePosting; do
    if [ $method = GetReport ]; then
      json='{"name":"plans/dorset-stp/report","financialYear":"2020-21","month":6}'
    else
      json="{\"requestId\":\"rt-{{seq}}\",\"posting\":{\"scheme\":\"$scheme\",\"financialYear\":\"2020-21\",\"month\":6,\"kind\":2,\"amount\":{\"pence\":\"1\"},\"reason\":\"bench\"}}"
    fi
    one() { "$build/bench/dorset-loadgen" --calls="$1" --target=127.0.0.1:$port --json \
      --method=/dorset.finance.v1.FinanceService/$method --request_json="$json" --concurrency=1 --channels=1 >/dev/null; }
    one 50
    strace -f -qq -e trace=sendto -c -o "$tmp/strace-$side-$method" -p "${finance_pid[$side]}" &
    tracer=$!
    sleep 1
    one 200
    sleep 0.5
    kill -INT $tracer; wait $tracer 2>/dev/null || true
    sends=$(awk '$NF=="sendto" {print $4}' "$tmp/strace-$side-$method")
    echo "pipeline $side, $method: ${sends:-0} sends in 200 calls = $(python3 -c "print(round(${sends:-0} / 200, 2))") per call"
  done
done
