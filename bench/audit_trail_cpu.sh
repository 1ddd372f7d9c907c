#!/usr/bin/env bash
# Server CPU per acknowledged posting (user + system from /proc, clock ticks), old build against
# new, and the new build with DORSET_AUDIT_TRAIL_SYNC=each (the trail synced at every write), on a
# busy machine where throughput ratios are noise (issue 16, session 15).
#   bench/audit_trail_cpu.sh <old build> <new build> [postings a run] [in flight] [rounds]
# Starts three dorset-finance on fresh SQLite stores; each round runs <postings> (default 3000)
# CreatePosting calls at <in flight> (default 2) against each in turn (old, new-each, new) and
# prints µs of server CPU a posting; the summary gives each one's median.
set -euo pipefail
cd "$(dirname "$0")/.."
old=$(cd "${1:?usage: bench/audit_trail_cpu.sh <old build> <new build> [postings] [in flight] [rounds]}" && pwd)
new=$(cd "${2:?new build}" && pwd)
calls=${3:-3000}
concurrency=${4:-2}
rounds=${5:-3}
channels=$([ "$concurrency" -ge 32 ] && echo 4 || echo 2)
source bench/lib/common.sh
declare -A server_pid
start() {  # start <name> <build> <port> [env...]
  local name=$1 build=$2 port=$3
  shift 3
  mkdir -p "$tmp/$name"
  env "$@" "$build/services/finance/dorset-finance" "${common[@]}" --grpc_listen=127.0.0.1:$port \
    --ops_listen=127.0.0.1:$((port + 100)) --data_dir="$tmp/$name" &
  pids+=($!)
  server_pid[$name]=$!
  wait_ready $((port + 100))
}
base=$((50490 + port_offset))
start old "$old" $base
start new-each "$new" $((base + 1)) DORSET_AUDIT_TRAIL_SYNC=each
start new "$new" $((base + 2))
port_of() { case $1 in old) echo $base ;; new-each) echo $((base + 1)) ;; new) echo $((base + 2)) ;; esac; }
posting="$(posting_request_json "bench-")"
loadgen() {
  "$new/bench/dorset-loadgen" --target=127.0.0.1:$1 --json \
    --method=/dorset.finance.v1.FinanceService/CreatePosting --request_json="$posting" \
    --concurrency="$concurrency" --channels="$channels" --duration_s=600 --calls="$2"
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
echo "== $(date -u '+%F %H:%M UTC'), old $old, new $new, $calls postings a run at $concurrency in flight, load $(cut -d' ' -f1-3 /proc/loadavg)"
for name in old new-each new; do loadgen "$(port_of $name)" 500 >/dev/null; done  # warm-up
hz=$(getconf CLK_TCK)
results=()
for round in $(seq 1 "$rounds"); do
  for name in old new-each new; do
    before=$(ticks "${server_pid[$name]}")
    run=$(loadgen "$(port_of $name)" "$calls")
    after=$(ticks "${server_pid[$name]}")
    us=$(python3 -c "print(round(($after - $before) / $hz * 1e6 / $calls, 1))")
    qps=$(python3 -c "import json,sys; print(round(json.loads(sys.argv[1])['qps']))" "$run")
    echo "round $round $name: ${us} us CPU a posting, ${qps}/s (load $(cut -d' ' -f1 /proc/loadavg))"
    results+=("$name $us")
  done
done
printf '%s\n' "${results[@]}" >"$tmp/results"
python3 - "$tmp/results" <<'EOF'
import collections, statistics, sys
by = collections.defaultdict(list)
for line in open(sys.argv[1]):
    name, us = line.split()
    by[name].append(float(us))
m = {name: statistics.median(v) for name, v in by.items()}
for name in ("old", "new-each", "new"):
    print(f"{name:9s} median {m[name]:7.1f} us CPU a posting  (runs: {by[name]})")
print(f"new/old {m['new'] / m['old']:.3f}, new/new-each {m['new'] / m['new-each']:.3f}")
EOF
