#!/usr/bin/env bash
# Acknowledged postings, two finance builds alternating (issue 16, bench/README.md session 21):
#   bench/postings_ab.sh <old build> <new build> [seconds per run] [rounds]
# Starts dorset-echo (of the new build) and one dorset-finance of each build on a fresh SQLite store
# (DORSET_BENCH_DATABASE as in bench/lib/common.sh), then each round runs echo, old, new (old and new
# swap places every other round, so a trend in the machine's load hits both alike): CreatePosting
# (echo's Echo) from dorset-loadgen at 32 in flight on 4 channels for `seconds` (5). Per run: calls/s,
# p99, the server's CPU per call (user + system from /proc, as bench/audit_sync_bench.sh counts it),
# the machine's idle and steal shares over the run (/proc/stat) and postings per group commit
# (finance_ledger_group_requests); then the median ratios to echo and new/old per round.
# POSTINGS_AB_CONCURRENCY sets the calls in flight (32; 1 for a sequential client).
# POSTINGS_AB_OLD_ENV / POSTINGS_AB_NEW_ENV="NAME=value ..." are set for that build's server only,
# so one build may be both (e.g. POSTINGS_AB_NEW_ENV=GLIBC_TUNABLES=glibc.malloc.tcache_count=1000).
# The builds need dorset-finance (and the new one dorset-echo and dorset-loadgen); nothing is built.
# Time it under the helpers' lock and at normal priority, e.g.
#   setsid -w nice -n -19 flock -o /work/wt/bench.lock bench/postings_ab.sh <old> <new> 5 6
set -euo pipefail
cd "$(dirname "$0")/.."
old=$(cd "${1:?usage: bench/postings_ab.sh <old build> <new build> [seconds] [rounds]}" && pwd)
new=$(cd "${2:?usage: bench/postings_ab.sh <old build> <new build> [seconds] [rounds]}" && pwd)
seconds=${3:-5}
rounds=${4:-3}
read -r -a old_env <<<"${POSTINGS_AB_OLD_ENV:-}"
read -r -a new_env <<<"${POSTINGS_AB_NEW_ENV:-}"
source bench/lib/common.sh
echo_port=$((50959 + port_offset))
echo "== $(date -u '+%F %H:%M:%S UTC') old $old env(${old_env[*]:-}) new $new env(${new_env[*]:-}); load $(cut -d' ' -f1-3 /proc/loadavg)"
"$new/bench/dorset-echo" "${common[@]}" --grpc_listen=127.0.0.1:$echo_port --ops_listen=127.0.0.1:$((echo_port + 100)) --data_dir="$tmp/echo" &
pids+=($!); declare -A spid; spid[echo]=$!
wait_ready $((echo_port + 100))
declare -A port
start() { # name build envs...
  local name=$1 b=$2; shift 2
  local p=$((50960 + port_offset + ${#spid[@]}))
  mkdir -p "$tmp/$name"
  database_flags "finance_$name"
  env "$@" "$b/services/finance/dorset-finance" "${common[@]}" --grpc_listen=127.0.0.1:$p --ops_listen=127.0.0.1:$((p + 100)) --data_dir="$tmp/$name" "${db[@]}" &
  pids+=($!); spid[$name]=$!; port[$name]=$p
  wait_ready $((p + 100))
}
start old "$old" "${old_env[@]}"
start new "$new" "${new_env[@]}"
port[echo]=$echo_port
posting=$(posting_request_json ab-)
grp() { [ $1 = echo ] && { echo 0 0; return; }; curl -sf "http://127.0.0.1:$((${port[$1]} + 100))/metrics" | awk '$1 == "finance_ledger_group_requests_sum" {s=$2} $1 == "finance_ledger_group_requests_count" {c=$2} END {print s+0, c+0}'; }
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
stat() { awk '/^cpu /{print $2+$3+$4+$5+$6+$7+$8+$9, $5, $9}' /proc/stat; }
for r in $(seq 1 "$rounds"); do
  order="old new"; [ $((r % 2)) = 0 ] && order="new old"
  for name in echo $order; do
    if [ $name = echo ]; then args=(--method=/dorset.bench.v1.EchoService/Echo --request_json='{"message":"ping"}')
    else args=(--method=/dorset.finance.v1.FinanceService/CreatePosting --request_json="$posting"); fi
    g0=$(grp $name); c0=$(cpu ${spid[$name]}); s0=$(stat)
    res=$("$new/bench/dorset-loadgen" --duration_s="$seconds" --json --concurrency="${POSTINGS_AB_CONCURRENCY:-32}" --channels=4 --target=127.0.0.1:${port[$name]} "${args[@]}")
    c1=$(cpu ${spid[$name]}); s1=$(stat); g1=$(grp $name)
    echo "$r $name $((c1 - c0)) $s0 $s1 $(python3 -c "import sys; a=sys.argv[1:]; print(round((float(a[2])-float(a[0]))/max(1,float(a[3])-float(a[1])),1))" $g0 $g1) $res"
  done
done | python3 bench/lib/postings_ab.py "$seconds"
echo "== end $(date -u '+%H:%M:%S UTC'); load $(cut -d' ' -f1-3 /proc/loadavg)"
