#!/usr/bin/env bash
# Where an acknowledged response's threads spend their time, natively (issue 16): engagement's
# CreateResponse at RESPONSES_CONCURRENCY (32) in flight on this build's store, as
# bench/writer_threads.sh does for finance's postings. Over RESPONSES_SECONDS (5) in the middle of
# the load: per thread of the server its share of the window on a CPU, runnable and blocked, and
# its context switches (/proc/<pid>/task/*/schedstat); the machine's split (/proc/stat: steal);
# the server's CPU (user + system) per response acknowledged in the window; responses per group.
# With RESPONSES_PERF=<dir>: `perf record -g -e cpu-clock -p <server>` over the window into
# <dir>/perf.data (RESPONSES_PERF_CALLGRAPH="--call-graph dwarf,16384" to unwind libc and SQLite),
# read with `perf report -i <dir>/perf.data --no-children --sort sym` (or --tid, --children).
#   bench/responses_threads.sh [build]     (default build/release, built here)
# A maintainers' script, not a test; run it under the shared timing lock.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
seconds=${RESPONSES_SECONDS:-5}
if [ -z "${1:-}" ]; then
  source scripts/lib/configure.sh
  configure_build "$build" -DCMAKE_BUILD_TYPE=Release
  nice cmake --build "$build" -j "$(nproc)" --target dorset-engagement dorset-loadgen dorsetctl >/dev/null
fi
build=$(cd "$build" && pwd)
source bench/lib/common.sh
port=$((50295 + port_offset))
mkdir -p "$tmp/engagement"
database_flags engagement
"$build/services/engagement/dorset-engagement" "${common[@]}" --grpc_listen=127.0.0.1:$port \
  --ops_listen=127.0.0.1:$((port + 100)) --data_dir="$tmp/engagement" "${db[@]}" &
server=$!
pids+=($server)
wait_ready $((port + 100))
open_survey "$build/cli/dorsetctl" 127.0.0.1:$port bench

response=$(response_request_json bench threads-)
load=(--target=127.0.0.1:$port --method=/dorset.engagement.v1.EngagementService/CreateResponse
  --request_json="$response" --concurrency="${RESPONSES_CONCURRENCY:-32}" --channels=4)
"$build/bench/dorset-loadgen" --json --duration_s=2 "${load[@]}" >/dev/null  # warm-up
"$build/bench/dorset-loadgen" --json --duration_s=$((seconds + 3)) "${load[@]}" >"$tmp/load.json" &
loadgen=$!
sleep 1.5

groups() {  # responses and groups committed so far
  curl -sf "http://127.0.0.1:$((port + 100))/metrics" |
    awk '$1 == "engagement_response_batch_size_sum" {s = $2} $1 == "engagement_response_batch_size_count" {c = $2} END {print s + 0, c + 0}'
}
server_threads "$server" >"$tmp/threads0"
groups >"$tmp/groups0"
cpu0=$(awk '{print $14 + $15}' "/proc/$server/stat")
head -1 /proc/stat >"$tmp/stat0"
start=$(date +%s%N)
if [ -n "${RESPONSES_PERF:-}" ]; then
  mkdir -p "$RESPONSES_PERF"
  perf record -q ${RESPONSES_PERF_CALLGRAPH:--g} -e cpu-clock -F 999 -p "$server" \
    -o "$RESPONSES_PERF/perf.data" -- sleep "$seconds"
else
  sleep "$seconds"
fi
server_threads "$server" >"$tmp/threads1"
groups >"$tmp/groups1"
cpu1=$(awk '{print $14 + $15}' "/proc/$server/stat")
head -1 /proc/stat >"$tmp/stat1"
end=$(date +%s%N)
wait $loadgen
cat "$tmp/load.json"
echo
machine_share "$tmp/stat0" "$tmp/stat1"
read -r s0 c0 <"$tmp/groups0"
read -r s1 c1 <"$tmp/groups1"
awk -v s=$((s1 - s0)) -v c=$((c1 - c0)) -v ticks=$((cpu1 - cpu0)) -v hz="$(getconf CLK_TCK)" \
  -v window=$((end - start)) 'BEGIN {
  printf "responses in the window: %d (%.0f/s) in %d groups (%.1f a group); server CPU %.0f us a response\n",
    s, s / (window / 1e9), c, (c > 0 ? s / c : 0), (s > 0 ? 1e6 * ticks / hz / s : 0) }'
echo "server threads over ${seconds} s (those on a CPU >= 1 %), and per response (a call):"
thread_shares "$tmp/threads0" "$tmp/threads1" $((end - start)) $((s1 - s0))
