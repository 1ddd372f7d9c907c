#!/usr/bin/env bash
# libpq pipeline mode on PostgreSQL (issue 12): BEGIN sent with a transaction's first statement
# (one round trip instead of two) against BEGIN as a round trip of its own
# (DORSET_DATABASE_PIPELINE=off), on ONE PostgreSQL 15 of the run's own, in the same rounds.
#   bench/pipeline_bench.sh [seconds per run] [rounds]
# Builds Release into build/pipeline-release (PIPELINE_BENCH_BUILD to use another) and starts
# dorset-echo and two dorset-finance servers, each on its own database: "on" (the default) and
# "off". PIPELINE_BENCH_DELAY_MS=<ms> (default 0: direct) puts bench/lib/delay_proxy.py between
# both finance servers and PostgreSQL, adding that one-way delay to every chunk each way (a round
# trip costs 2 x ms more: a database across a network; the shared loopback itself is untouched).
# Per round, alternating which side goes first:
#   1. echo at 32 in flight                                  -> baseline QPS
#   2. CreatePosting at 32 in flight on "on" and on "off"    -> acknowledged postings/s
#   3. GetReport at 1 in flight on "on" and on "off"          -> p50/p99 (one read transaction of
#      four queries: 6 round trips with BEGIN alone, 5 with it pipelined)
#   4. CreatePosting at 1 in flight, GetReport at 32 in flight, each on "on" and "off"
# and prints the median per-round figures and on/off ratios; then, when strace is installed, counts
# (not times) the round trips: libpq's send() calls (sendto) of each finance process during
# exactly 200 GetReport and 200 CreatePosting calls at 1 in flight.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-8}
rounds=${2:-3}
build=${PIPELINE_BENCH_BUILD:-build/pipeline-release}
delay_ms=${PIPELINE_BENCH_DELAY_MS:-0}
if [[ -z "${PIPELINE_BENCH_BUILD:-}" ]]; then
  source scripts/lib/configure.sh
  configure_build "$build" -DCMAKE_BUILD_TYPE=Release
fi
nice cmake --build "$build" -j "$(nproc)" --target dorset-echo dorset-finance dorset-loadgen >/dev/null
export DORSET_BENCH_DATABASE=postgres
source bench/lib/common.sh
echo_port=$((51059 + port_offset))
on_port=$((51060 + port_offset))
off_port=$((51061 + port_offset))

"$build/bench/dorset-echo" "${common[@]}" --grpc_listen=127.0.0.1:$echo_port \
  --ops_listen=127.0.0.1:$((echo_port + 100)) --data_dir="$tmp/echo" &
pids+=($!)
proxy_port=
if [ "$delay_ms" != 0 ]; then
  database_flags finance_on  # starts PostgreSQL; pg_port is its port
  proxy_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  python3 bench/lib/delay_proxy.py --listen=127.0.0.1:$proxy_port --to=127.0.0.1:$pg_port \
    --delay_ms="$delay_ms" >"$tmp/proxy.out" &
  pids+=($!)
  for _ in $(seq 1 500); do grep -q listening "$tmp/proxy.out" 2>/dev/null && break; sleep 0.01; done
fi
echo "== $(date -u '+%F %H:%M UTC'), commit $(git rev-parse --short HEAD), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== finance -> PostgreSQL: ${proxy_port:+through bench/lib/delay_proxy.py, }one-way delay $delay_ms ms"
declare -A finance_pid
for side in on off; do
  port=$on_port
  [ "$side" = off ] && port=$off_port
  mkdir -p "$tmp/finance-$side"
  database_flags "finance_$side"
  [ -n "$proxy_port" ] && db[0]=${db[0]/:$pg_port\//:$proxy_port/}
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
inflight() {  # inflight <n>: the load generator's concurrency and channels for n calls in flight
  echo --concurrency="$1" --channels=$(($1 > 1 ? 4 : 1))
}
posting() {  # posting <port> <in flight> ({{seq}} starts at the time in microseconds: ids never repeat)
  loadgen --target=127.0.0.1:$1 --method=/dorset.finance.v1.FinanceService/CreatePosting \
    --request_json="$(posting_request_json "bench-")" \
    $(inflight "$2")
}
report() {  # report <port> <in flight>
  loadgen --target=127.0.0.1:$1 --method=/dorset.finance.v1.FinanceService/GetReport \
    --request_json="$report_request_json" $(inflight "$2")
}

# runs <label> <side> <json>: every measurement, one line each, for the summary.
results=()
record() { results+=("$1 $2 $3"); echo "$1 $2 $3"; }
for round in $(seq 1 "$rounds"); do
  echo "== round $round, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  record "echo@$round" - "$(loadgen --target=127.0.0.1:$echo_port --method=/dorset.bench.v1.EchoService/Echo \
    --request_json='{"message":"ping"}' --concurrency=32 --channels=4)"
  sides=(on off)
  (( round % 2 )) || sides=(off on)
  for load in CreatePosting:32 GetReport:1 CreatePosting:1 GetReport:32; do
    for side in "${sides[@]}"; do
      port=$on_port
      [ "$side" = off ] && port=$off_port
      n=${load#*:}
      if [ "${load%:*}" = CreatePosting ]; then
        record "$load@$round" $side "$(posting $port "$n")"
      else
        record "$load@$round" $side "$(report $port "$n")"
      fi
    done
  done
done
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

printf '%s\n' "${results[@]}" >"$tmp/results"
python3 - "$tmp/results" "$delay_ms" <<'PY'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    label, side, payload = line.split(" ", 2)
    name, rnd = label.split("@")
    runs[(name, int(rnd), side)] = json.loads(payload)
rounds = sorted({r for _, r, _ in runs})
med = statistics.median
errors = sum(r.get("errors", 0) for r in runs.values())
echo = [runs[("echo", r, "-")] for r in rounds]
print(f"== summary (one-way delay {sys.argv[2]} ms; medians over {len(rounds)} rounds)")
print(f"echo x32: {med(e['qps'] for e in echo):.0f}/s")
print("| call, in flight | on: calls/s | off: calls/s | on/off calls/s (per round) | on: p50 / p99 ms | off: p50 / p99 ms |")
print("| --- | ---: | ---: | --- | --- | --- |")
for load in ("CreatePosting:1", "CreatePosting:32", "GetReport:1", "GetReport:32"):
    on = [runs[(load, r, "on")] for r in rounds]
    off = [runs[(load, r, "off")] for r in rounds]
    ratios = [a["qps"] / b["qps"] for a, b in zip(on, off) if b["qps"]]
    name, n = load.split(":")
    print(f"| {name} x{n} | {med(r['qps'] for r in on):.0f} | {med(r['qps'] for r in off):.0f} | "
          f"**{med(ratios):.3f}** ({', '.join(f'{x:.3f}' for x in ratios)}) | "
          f"{med(r['p50_ms'] for r in on):.2f} / {med(r['p99_ms'] for r in on):.2f} | "
          f"{med(r['p50_ms'] for r in off):.2f} / {med(r['p99_ms'] for r in off):.2f} |")
print(f"CreatePosting x32 / echo: on {med(a['qps'] / e['qps'] for a, e in zip([runs[('CreatePosting:32', r, 'on')] for r in rounds], echo)):.3f}x,"
      f" off {med(a['qps'] / e['qps'] for a, e in zip([runs[('CreatePosting:32', r, 'off')] for r in rounds], echo)):.3f}x")
print(f"errors in all runs: {errors}")
PY

command -v strace >/dev/null || { echo "(no strace: round trips not counted)"; exit 0; }
echo "== round trips to PostgreSQL (libpq send() calls), 200 calls at 1 in flight after 50 to warm up"
for side in on off; do
  port=$on_port
  [ "$side" = off ] && port=$off_port
  for method in GetReport CreatePosting; do
    if [ $method = GetReport ]; then
      json="$report_request_json"
    else
      json="$(posting_request_json "rt-")"
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
