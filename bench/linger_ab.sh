#!/usr/bin/env bash
# The group commit's linger on and off in ONE build (issue 16, bench/README.md session 15): echo
# and two dorset-finance on SQLite, one with DORSET_GROUP_LINGER=off, one with ${LINGER_AB_ON:-2ms}; per round echo at 32, then
# CreatePosting on both at each concurrency of LINGER_AB_CONCS (default "32 4 1"), the order of
# the two servers swapped every round. Prints raw lines: each run's loadgen JSON between the
# server's /metrics group counters and its CPU ticks (/proc) before and after.
#   bench/linger_ab.sh [seconds] [rounds]   (LINGER_AB_BUILD: a Release build, default build/release)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}; rounds=${2:-3}
build=${LINGER_AB_BUILD:-build/release}
source bench/lib/common.sh
base=$((52411 + port_offset))
"$build/bench/dorset-echo" "${common[@]}" --grpc_listen=127.0.0.1:$base --ops_listen=127.0.0.1:$((base + 100)) --data_dir="$tmp/echo" &
pids+=($!)
for mode in off on; do
  port=$((base + 1)); [[ $mode == on ]] && port=$((base + 2))
  mkdir -p "$tmp/finance-$mode"
  if [[ $mode == off ]]; then
    DORSET_GROUP_LINGER=off "$build/services/finance/dorset-finance" "${common[@]}" --grpc_listen=127.0.0.1:$port --ops_listen=127.0.0.1:$((port + 100)) --data_dir="$tmp/finance-$mode" &
  else
    DORSET_GROUP_LINGER=${LINGER_AB_ON:-2ms} "$build/services/finance/dorset-finance" "${common[@]}" --grpc_listen=127.0.0.1:$port --ops_listen=127.0.0.1:$((port + 100)) --data_dir="$tmp/finance-$mode" &
  fi
  pids+=($!)
done
for p in $base $((base + 1)) $((base + 2)); do wait_ready $((p + 100)); done
post() {  # post <port> <concurrency> <tag>
  "$build/bench/dorset-loadgen" --duration_s="$seconds" --json --target=127.0.0.1:$1 \
    --method=/dorset.finance.v1.FinanceService/CreatePosting --concurrency=$2 --channels=$([[ $2 == 1 ]] && echo 1 || echo 4) \
    --request_json="$(posting_request_json "$3-")"
}
declare -A fpid
fpid[off]=${pids[1]}; fpid[on]=${pids[2]}
metrics() { curl -s "http://127.0.0.1:$(($1 + 100))/metrics" | grep -E '^finance_ledger_group_(requests_(count|sum)|linger)' | tr '\n' ' '; echo -n "cpu_ticks $(awk '{print $14 + $15}' /proc/$2/stat)"; echo; }
for r in $(seq 1 "$rounds"); do
  echo "## round $r load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "echo32 $("$build/bench/dorset-loadgen" --duration_s="$seconds" --json --target=127.0.0.1:$base --method=/dorset.bench.v1.EchoService/Echo --request_json='{"message":"ping"}' --concurrency=32 --channels=4)"
  order="off on"; (( r % 2 == 0 )) && order="on off"
  for c in ${LINGER_AB_CONCS:-32 4 1}; do
    for mode in $order; do
      port=$((base + 1)); [[ $mode == on ]] && port=$((base + 2))
      echo "m$mode before $(metrics $port ${fpid[$mode]})"
      echo "post$c-$mode $(post $port $c r$r-c$c)"
      echo "m$mode after $(metrics $port ${fpid[$mode]})"
    done
  done
done
echo "## load after $(cut -d' ' -f1-3 /proc/loadavg)"
