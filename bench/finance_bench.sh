#!/usr/bin/env bash
# Finance scenario against the echo baseline measured in the same run.
#   bench/finance_bench.sh [seconds per run] [rounds]
# Builds Release into build/finance-release, starts dorset-echo and dorset-finance (plaintext,
# auth none, rate limit off, fresh store with the seed plan) and runs dorset-loadgen:
#   1. echo at 32 in flight                      -> baseline QPS           } alternated
#   2. CreatePosting at 32 in flight             -> acknowledged postings/s } for N rounds
#   3. GetReport (seed plan, 2020-21 M6) at 32 in flight and at 1 in flight -> QPS and p99
# and prints postings/echo (target >= 0.2) and the report p99 (target <= 5 ms).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
rounds=${2:-3}
build=${FINANCE_BENCH_BUILD:-build/finance-release}
if [[ -f scripts/lib/configure.sh ]]; then
  source scripts/lib/configure.sh
  configure_build "$build" -DCMAKE_BUILD_TYPE=Release
else
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
nice cmake --build "$build" -j "$(nproc)" --target dorset-echo dorset-finance dorset-loadgen >/dev/null
source bench/lib/common.sh
echo_port=$((50259 + port_offset))
finance_port=$((50260 + port_offset))

"$build/bench/dorset-echo" "${common[@]}" --grpc_listen=127.0.0.1:$echo_port \
  --ops_listen=127.0.0.1:$((echo_port + 100)) --data_dir="$tmp/echo" &
pids+=($!)
mkdir -p "$tmp/finance"
database_flags finance
echo "== storage engine: $database"
"$build/services/finance/dorset-finance" "${common[@]}" --grpc_listen=127.0.0.1:$finance_port \
  --ops_listen=127.0.0.1:$((finance_port + 100)) --data_dir="$tmp/finance" "${db[@]}" &
pids+=($!)
wait_ready $((echo_port + 100))
wait_ready $((finance_port + 100))

loadgen() { "$build/bench/dorset-loadgen" --duration_s="$seconds" --json "$@"; }

# Echo and postings alternate for $rounds rounds, so load from elsewhere on the machine hits
# both alike; the summary takes the median of the per-round ratios.
echo_runs=()
post_runs=()
for round in $(seq 1 "$rounds"); do
  echo "== round $round: echo, 32 in flight"
  echo_runs+=("$(loadgen --target=127.0.0.1:$echo_port --method=/dorset.bench.v1.EchoService/Echo \
    --request_json='{"message":"ping"}' --concurrency=32 --channels=4)")
  echo "${echo_runs[-1]}"
  echo "== round $round: CreatePosting, 32 in flight (each acknowledged posting committed with synchronous=FULL)"
  post_runs+=("$(loadgen --target=127.0.0.1:$finance_port \
    --method=/dorset.finance.v1.FinanceService/CreatePosting \
    --request_json="$(posting_request_json "bench-")" \
    --concurrency=32 --channels=4)")
  echo "${post_runs[-1]}"
done
metrics=$(curl -sf "http://127.0.0.1:$((finance_port + 100))/metrics" || true)
group_count=$(awk '/^finance_ledger_group_requests_count/ {print $2}' <<<"$metrics")
group_sum=$(awk '/^finance_ledger_group_requests_sum/ {print $2}' <<<"$metrics")

report_request="$report_request_json"
echo "== GetReport over the seed plan, 32 in flight"
report_json=$(loadgen --target=127.0.0.1:$finance_port \
  --method=/dorset.finance.v1.FinanceService/GetReport --request_json="$report_request" \
  --concurrency=32 --channels=4)
echo "$report_json"
echo "== GetReport over the seed plan, 1 in flight"
report1_json=$(loadgen --target=127.0.0.1:$finance_port \
  --method=/dorset.finance.v1.FinanceService/GetReport --request_json="$report_request" \
  --concurrency=1 --channels=1)
echo "$report1_json"

python3 - "$report_json" "$report1_json" "${group_count:-0}" "${group_sum:-0}" "${#echo_runs[@]}" \
  "${echo_runs[@]}" "${post_runs[@]}" <<'PY'
import json, statistics, sys
report, report1 = json.loads(sys.argv[1]), json.loads(sys.argv[2])
groups, grouped, n = float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
echoes = [json.loads(a) for a in sys.argv[6:6 + n]]
posts = [json.loads(a) for a in sys.argv[6 + n:6 + 2 * n]]
ratios = [p["qps"] / e["qps"] for e, p in zip(echoes, posts) if e["qps"]]
print("== summary")
for i, (e, p) in enumerate(zip(echoes, posts), 1):
    print(f"round {i}: echo {e['qps']:.0f}/s  postings {p['qps']:.0f}/s  ratio {p['qps'] / e['qps']:.3f}"
          f"  postings p99 {p['p99_ms']:.2f} ms  errors {p['errors']}")
print(f"postings/echo median ratio     {statistics.median(ratios):.3f}  (target >= 0.2)")
if groups:
    print(f"group commit                   {groups:.0f} transactions, {grouped / groups:.1f} requests each on average")
echo_qps = statistics.median(e["qps"] for e in echoes)
print(f"report qps (32 in flight)      {report['qps']:.0f}  ratio to median echo {report['qps'] / echo_qps:.3f}"
      f"  p99 {report['p99_ms']:.2f} ms")
print(f"report p99 (1 in flight)       {report1['p99_ms']:.3f} ms  (target <= 5 ms)")
PY
