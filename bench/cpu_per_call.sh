#!/usr/bin/env bash
# CPU per call, server and load generator apart: what a call costs the machine, not only how many
# went through. Calls/s ratios on this 2-core VM hide two things this shows (issue 16):
# - the load generator shares the two CPUs, and its cost per call is not a constant: it is lower
#   when many calls complete per wakeup (echo's rate) than when few do (a write's rate);
# - the server's cost per call falls the same way, so echo's per-call CPU at its own rate is not
#   what a call costs at a posting's rate. Echo at lower concurrencies shows that curve.
#   bench/cpu_per_call.sh [seconds] [rounds]      (defaults 4 and 2)
# For each round: dorset-echo at CPU_PER_CALL_ECHO_INFLIGHT (default "2 4 8 32") in flight, then
# at 32: dorset-committed-echo (bench/committed_echo: the same echo answered after a group commit
# of the storage lane) with --commit=empty (the hand-offs and batching alone) and --commit=row (a
# row a call: a durable commit a group), and CreatePosting (dorset-finance); every store this
# build's, DORSET_BENCH_DATABASE as in bench/lib/common.sh. The lines at 32 also give their rate
# divided by echo x32's in the same round: how much of a posting's gap to echo the group commit
# alone accounts for (bench/README.md, session 29). Each line: calls/s, the server's and the load
# generator's CPU (utime + stime from /proc/<pid>/stat over the middle of the run) divided by the
# calls in that window, and the machine's idle and steal (/proc/stat) over it. Builds Release into build/release
# (CPU_PER_CALL_BUILD to reuse another build). A maintainers' script, not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-4}
rounds=${2:-2}
build=${CPU_PER_CALL_BUILD:-build/release}
if [[ -z "${CPU_PER_CALL_BUILD:-}" ]]; then
  source scripts/lib/configure.sh
  configure_build "$build" -DCMAKE_BUILD_TYPE=Release
  nice cmake --build "$build" -j "$(nproc)" --target dorset-echo dorset-committed-echo \
    dorset-finance dorset-loadgen >/dev/null
fi
source bench/lib/common.sh
echo_port=$((50459 + port_offset))
finance_port=$((50260 + port_offset))
mkdir -p "$tmp/echo" "$tmp/finance"
"$build/bench/dorset-echo" "${common[@]}" --grpc_listen=127.0.0.1:$echo_port \
  --ops_listen=127.0.0.1:$((echo_port + 100)) --data_dir="$tmp/echo" &
echo_pid=$!
pids+=($echo_pid)
declare -A committed_port committed_pid
committed_port[empty]=$((50457 + port_offset))
committed_port[row]=$((50458 + port_offset))
for mode in empty row; do
  mkdir -p "$tmp/committed-$mode"
  database_flags "committed_echo_$mode"
  "$build/bench/dorset-committed-echo" --commit=$mode "${common[@]}" \
    --grpc_listen=127.0.0.1:${committed_port[$mode]} \
    --ops_listen=127.0.0.1:$((committed_port[$mode] + 100)) --data_dir="$tmp/committed-$mode" "${db[@]}" &
  committed_pid[$mode]=$!
  pids+=(${committed_pid[$mode]})
done
database_flags finance
"$build/services/finance/dorset-finance" "${common[@]}" --grpc_listen=127.0.0.1:$finance_port \
  --ops_listen=127.0.0.1:$((finance_port + 100)) --data_dir="$tmp/finance" "${db[@]}" &
finance_pid=$!
pids+=($finance_pid)
wait_ready $((echo_port + 100))
wait_ready $((finance_port + 100))
for mode in empty row; do wait_ready $((committed_port[$mode] + 100)); done

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime, in clock ticks

# measure <label> <server pid> <loadgen flags...>: one loadgen run; the CPU window is its middle
# (1 s of warm-up and 1 s before the end left out).
measure() {
  local label=$1 server=$2
  shift 2
  "$build/bench/dorset-loadgen" --json --warmup_s=1 --duration_s=$((seconds + 1)) "$@" \
    >"$tmp/load.json" &
  local load=$!
  sleep 1.5
  local s0 l0 c0 t0 s1 l1 c1 t1
  s0=$(ticks "$server") l0=$(ticks "$load") c0=$(head -1 /proc/stat) t0=$(date +%s%N)
  sleep "$((seconds - 1))"
  s1=$(ticks "$server") l1=$(ticks "$load") c1=$(head -1 /proc/stat) t1=$(date +%s%N)
  wait "$load"
  python3 - "$label" "$tmp/load.json" "$s0" "$s1" "$l0" "$l1" "$t0" "$t1" "$c0" "$c1" \
    "$(getconf CLK_TCK)" "${base_qps:-0}" <<'EOF'
import json, sys
label, path, s0, s1, l0, l1, t0, t1, c0, c1, hz, base = sys.argv[1:]
qps = json.load(open(path))["qps"]
window = (int(t1) - int(t0)) / 1e9
calls = qps * window
per = lambda a, b: (int(b) - int(a)) / int(hz) / calls * 1e6 if calls else 0
d = [int(y) - int(x) for x, y in zip(c0.split()[1:], c1.split()[1:])]
ratio = f"  {qps / float(base):5.3f}x echo x32" if float(base) > 0 else ""
print(f"{label:<24} {qps:9.0f}/s  server {per(s0, s1):6.1f} us/call  "
      f"loadgen {per(l0, l1):6.1f} us/call  idle {100 * d[3] / sum(d):3.0f} %  "
      f"steal {100 * d[7] / sum(d):3.1f} %{ratio}")
if label == "echo x32":
    open(path + ".echo32", "w").write(f"{qps}")
EOF
}

for round in $(seq 1 "$rounds"); do
  echo "== round $round, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  for inflight in ${CPU_PER_CALL_ECHO_INFLIGHT:-2 4 8 32}; do
    measure "echo x$inflight" "$echo_pid" --target=127.0.0.1:$echo_port \
      --method=/dorset.bench.v1.EchoService/Echo --request_json='{"message":"hi"}' \
      --concurrency="$inflight" --channels=$((inflight < 4 ? inflight : 4))
  done
  base_qps=$(cat "$tmp/load.json.echo32" 2>/dev/null || echo 0)
  for mode in empty row; do
    measure "committed echo $mode x32" "${committed_pid[$mode]}" \
      --target=127.0.0.1:${committed_port[$mode]} --method=/dorset.bench.v1.EchoService/Echo \
      --request_json='{"message":"hi"}' --concurrency=32 --channels=4
  done
  measure "CreatePosting x32" "$finance_pid" --target=127.0.0.1:$finance_port \
    --method=/dorset.finance.v1.FinanceService/CreatePosting \
    --request_json="$(posting_request_json "cpu-$round-")" --concurrency=32 --channels=4
  base_qps=
done
