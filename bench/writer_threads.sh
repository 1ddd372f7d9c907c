#!/usr/bin/env bash
# Where an acknowledged posting's threads spend their time, natively (issue 16): dorset-finance on
# this build's store (DORSET_BENCH_DATABASE, bench/lib/common.sh), CreatePosting from dorset-loadgen
# at WRITER_CONCURRENCY in flight (32), and over WRITER_SECONDS (5) in the middle of the load:
# - per thread of the server, from /proc/<pid>/task/*/schedstat: the share of the window on a CPU,
#   runnable (waiting for a CPU) and blocked (I/O, a lock, no work), and its context switches;
# - the machine's split from /proc/stat (user, system, idle, iowait, softirq, steal: another
#   tenant of the host taking the CPU, which makes every rate of the window incomparable);
# - with WRITER_PERF=<dir>: `perf record -a -g -e cpu-clock` over the same window into
#   <dir>/perf.data (the VM has no hardware counters; cpu-clock sampling works), to be read with
#   `perf report -i <dir>/perf.data --tid <writer> --percentage relative --children --sort sym`;
#   WRITER_PERF_CALLGRAPH="--call-graph dwarf,16384" unwinds through libc and SQLite too (which
#   have no frame pointers), at the price of a bigger perf.data: use a short WRITER_SECONDS;
# - with WRITER_SYSCALLS=1 instead: the server's system calls per thread over the window (perf stat
#   on the syscalls tracepoints: sendmsg, recvmsg, fdatasync, pwrite64, futex, epoll_wait, ...).
# - with DORSET_BENCH_DATABASE=postgres, also the CPU (user + system, /proc/<pid>/stat) over the same
#   window of the cluster's processes by role (the service's backends, walwriter, checkpointer, the
#   rest), in all and per posting acknowledged in the window.
#   bench/writer_threads.sh [build]     (default build/release, built here)
# WRITER_PERF needs perf (Debian's linux-perf; not installed by install-deps.sh, like costs.sh's valgrind).
# Used for bench/README.md "Session 18"; a maintainers' script, not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
seconds=${WRITER_SECONDS:-5}
if [ -n "${WRITER_PERF:-}" ] && ! command -v perf >/dev/null 2>&1; then
  echo "WRITER_PERF needs perf: apt-get install linux-perf" >&2
  exit 2
fi
source scripts/lib/configure.sh
configure_build "$build" -DCMAKE_BUILD_TYPE=Release
nice cmake --build "$build" -j "$(nproc)" --target dorset-finance dorset-loadgen >/dev/null
source bench/lib/common.sh
finance_port=$((50260 + port_offset))
mkdir -p "$tmp/finance"
database_flags finance
"$build/services/finance/dorset-finance" "${common[@]}" --grpc_listen=127.0.0.1:$finance_port \
  --ops_listen=127.0.0.1:$((finance_port + 100)) --data_dir="$tmp/finance" "${db[@]}" &
server=$!
pids+=($server)
wait_ready $((finance_port + 100))

post=(--target=127.0.0.1:$finance_port --method=/dorset.finance.v1.FinanceService/CreatePosting
  --request_json="$(posting_request_json "threads-")"
  --concurrency="${WRITER_CONCURRENCY:-32}" --channels=4)
"$build/bench/dorset-loadgen" --json --duration_s=2 "${post[@]}" >/dev/null  # warm-up
"$build/bench/dorset-loadgen" --json --duration_s=$((seconds + 3)) "${post[@]}" >"$tmp/load.json" &
load=$!
sleep 1.5

postgres_cpu() {  # pid role ticks, per process of the cluster (PostgreSQL only)
  [ "$database" = postgres ] || return 0
  local postmaster pid
  postmaster=$(head -1 "$pg_data/postmaster.pid")
  for pid in $postmaster $(pgrep -P "$postmaster"); do
    [ -r "/proc/$pid/stat" ] || continue
    # The role from the process title: "postgres: walwriter", "postgres: dorset_finance ...".
    echo "$pid $(tr '\0' ' ' <"/proc/$pid/cmdline" | awk '{ print ($1 != "postgres:" ? "postmaster" : $2) }')" \
      "$(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$pid/stat")"
  done
}
committed() {  # postings acknowledged so far, from the server's metrics
  curl -sf "http://127.0.0.1:$((finance_port + 100))/metrics" |
    awk '/^finance_ledger_group_requests_sum/ { print $2 + 0; found = 1 } END { if (!found) print 0 }'
}
server_threads "$server" >"$tmp/threads0"
postgres_cpu >"$tmp/pg0"
committed >"$tmp/posted0"
head -1 /proc/stat >"$tmp/stat0"
start=$(date +%s%N)
if [ -n "${WRITER_PERF:-}" ]; then
  mkdir -p "$WRITER_PERF"
  perf record -q -a ${WRITER_PERF_CALLGRAPH:--g} -e cpu-clock -F 999 -o "$WRITER_PERF/perf.data" -- sleep "$seconds"
elif [ -n "${WRITER_SYSCALLS:-}" ]; then
  perf stat --per-thread -x, -o "$tmp/syscalls" -p "$server" -e "$(printf 'syscalls:sys_enter_%s,' \
    sendmsg recvmsg fdatasync pwrite64 futex epoll_wait write read | sed 's/,$//')" -- sleep "$seconds"
else
  sleep "$seconds"
fi
server_threads "$server" >"$tmp/threads1"
postgres_cpu >"$tmp/pg1"
committed >"$tmp/posted1"
head -1 /proc/stat >"$tmp/stat1"
end=$(date +%s%N)
wait $load
cat "$tmp/load.json"
echo
machine_share "$tmp/stat0" "$tmp/stat1"
echo "server threads over ${seconds} s (those on a CPU >= 1 %):"
thread_shares "$tmp/threads0" "$tmp/threads1" $((end - start))
if [ -n "${WRITER_SYSCALLS:-}" ]; then
  echo "system calls over ${seconds} s, per thread of the server (perf stat; those called):"
  awk -F, '$2 > 0 && $2 ~ /^[0-9]+$/ { split($1, t, "-"); printf "  %-24s %-28s %9d\n", $1, $4, $2 }' \
    "$tmp/syscalls" | sort -k1,1 -k3,3nr
fi
curl -sf "http://127.0.0.1:$((finance_port + 100))/metrics" |
  grep -E '^finance_ledger_group_requests_(sum|count)|^dorset_sqlite_wal_checkpoint' || true
if [ "$database" = postgres ]; then
  posted=$(($(cat "$tmp/posted1") - $(cat "$tmp/posted0")))
  hz=$(getconf CLK_TCK)
  echo "PostgreSQL processes over the window (${posted} postings; CPU in clock ticks of 1/${hz} s):"
  join <(sort "$tmp/pg0") <(sort "$tmp/pg1") | awk -v hz="$hz" -v posted="$posted" -v window=$((end - start)) '{
    role = $2; if (role ~ /^dorset_/) role = "backend " role
    cpu[role] += ($5 - $3) / hz; n[role]++ }
    END { for (r in cpu) printf "  %-28s x%-2d CPU %6.3f s (%5.1f %% of a CPU)  %6.1f us a posting\n",
      r, n[r], cpu[r], 100 * cpu[r] / (window / 1e9), (posted > 0 ? 1e6 * cpu[r] / posted : 0) }'
fi
