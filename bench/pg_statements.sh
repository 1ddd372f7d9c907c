#!/usr/bin/env bash
# Where a write's time goes inside PostgreSQL (issue 16): one service (finance: CreatePosting, or
# engagement: CreateResponse, the audit_sync_bench.sh requests) on a cluster of the run's own with
# pg_stat_statements (track = all, so the foreign keys' checks show as nested statements), a 2 s
# warm-up, the statistics reset, then PG_STATEMENTS_SECONDS (5) at 32 in flight. Prints the
# loadgen's result, the writes acknowledged, the backends' CPU a write (/proc), and the statements
# by total execution time (calls, µs a call, rows a call, ms in all).
#   bench/pg_statements.sh [finance|engagement] [build]   (default finance, build/release; not built
#   here: the build needs dorset-<service>, dorset-loadgen and dorsetctl, so another tree's build
#   can be measured as it is)
# A maintainers' script, not a test (bench/README.md "Session 20").
set -euo pipefail
cd "$(dirname "$0")/.."
service=${1:-finance}
build=${2:-build/release}
seconds=${PG_STATEMENTS_SECONDS:-5}
export DORSET_BENCH_DATABASE=postgres
source bench/lib/common.sh
port=$((50270 + port_offset))
mkdir -p "$tmp/$service"
database_flags "$service"
# pg_stat_statements needs a restart (shared_preload_libraries); pg_ctl restart keeps the options.
pg_psql -d postgres -c "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'"
pg_as_owner "$pg_bin/pg_ctl" -D "$pg_data" -l "$var/log/postgres.log" -w -t 60 -s restart </dev/null
pg_psql -d postgres -c "ALTER SYSTEM SET pg_stat_statements.track = 'all'" -c "SELECT pg_reload_conf()" >/dev/null
pg_psql -d "dorset_$service" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
"$build/services/$service/dorset-$service" "${common[@]}" --grpc_listen=127.0.0.1:$port \
  --ops_listen=127.0.0.1:$((port + 100)) --data_dir="$tmp/$service" "${db[@]}" &
server=$!
pids+=($server)
wait_ready $((port + 100))
case $service in
  finance)
    table=posting
    args=(--method=/dorset.finance.v1.FinanceService/CreatePosting
      --request_json="$(posting_request_json "pgs-")") ;;
  engagement)
    table=response
    ctl() { "$build/cli/dorsetctl" engagement "$@" --target=127.0.0.1:$port >/dev/null; }
    ctl create-activity --id=bench --kind=SURVEY --title="[SYNTHETIC] bench survey"
    for theme in access cost; do ctl create-theme bench --id=$theme --display_name="$theme"; done
    ctl open bench
    args=(--method=/dorset.engagement.v1.EngagementService/CreateResponse
      --request_json='{"parent":"activities/bench","requestId":"pgs-{{seq}}","response":{"channel":"CHANNEL_ONLINE","sentiment":"SENTIMENT_OPPOSED","text":"[SYNTHETIC] bench response {{seq}}","themes":["activities/bench/themes/access"],"locality":"localities/bench-{{slot}}"}}') ;;
  *) echo "service must be finance or engagement" >&2; exit 2 ;;
esac
load() { "$build/bench/dorset-loadgen" --json --concurrency=32 --channels=4 --target=127.0.0.1:$port "${args[@]}" "$@"; }
load --duration_s=2 >/dev/null
pg_psql -d "dorset_$service" -c "SELECT pg_stat_statements_reset()" >/dev/null
backends() {  # the service's backends' CPU in clock ticks
  local postmaster pid total=0
  postmaster=$(head -1 "$pg_data/postmaster.pid")
  for pid in $(pgrep -P "$postmaster"); do
    grep -q "dorset_$service" "/proc/$pid/cmdline" 2>/dev/null || continue
    total=$((total + $(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$pid/stat")))
  done
  echo $total
}
rows() { pg_psql -d "dorset_$service" -At -c "SELECT count(*) FROM $table"; }
service_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$server/stat"; }
head -1 /proc/stat >"$tmp/stat0"
rows0=$(rows)
cpu0=$(backends)
svc0=$(service_ticks)
start=$(date +%s%N)
# The service's waits for PostgreSQL: libpq blocks in poll() for each round trip (gRPC waits in
# epoll_wait, not poll), and each send of a statement or pipeline is a sendto().
perf stat -x, -e syscalls:sys_enter_poll,syscalls:sys_enter_sendto -p "$server" -o "$tmp/syscalls" \
  -- sleep "$((seconds + 1))" &
perf=$!
load --duration_s="$seconds"
echo
end=$(date +%s%N)
wait $perf || true
sleep 0.2  # the last group's commit
cpu1=$(backends)
svc1=$(service_ticks)
rows1=$(rows)
head -1 /proc/stat >"$tmp/stat1"
hz=$(getconf CLK_TCK)
python3 -c "
w = $rows1 - $rows0; s = ($end - $start) / 1e9
print(f'writes: {w} in {s:.1f} s ({w / s:.0f}/s); backends CPU {1e6 * ($cpu1 - $cpu0) / $hz / w:.0f} us a write, service CPU {1e6 * ($svc1 - $svc0) / $hz / w:.0f} us a write')
counts = {}
for line in open('$tmp/syscalls'):
    f = line.strip().split(',')
    if len(f) > 2 and f[0].isdigit(): counts[f[2].split('_')[-1]] = int(f[0])
print('service syscalls a write: ' + ', '.join(f'{k} {v / w:.2f}' for k, v in counts.items()))"
machine_share "$tmp/stat0" "$tmp/stat1"
pg_psql -d "dorset_$service" -At -F ' | ' -f - <<SQL
SELECT 'statements: ' || sum(calls) FILTER (WHERE toplevel) || ' top-level calls (' ||
       round(sum(calls) FILTER (WHERE toplevel)::numeric / $((rows1 - rows0)), 2) || ' a write), ' ||
       sum(calls) FILTER (WHERE NOT toplevel) || ' nested; ' ||
       round(sum(total_exec_time) FILTER (WHERE toplevel)::numeric, 1) || ' ms executing (' ||
       round((1000 * sum(total_exec_time) FILTER (WHERE toplevel) / $((rows1 - rows0)))::numeric, 1) || ' us a write)'
  FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database());
SELECT calls, round((total_exec_time / calls * 1000)::numeric, 1) AS us_a_call,
       round(rows::numeric / calls, 1) AS rows_a_call, round(total_exec_time::numeric, 1) AS ms,
       left(regexp_replace(query, '\s+', ' ', 'g'), 150)
  FROM pg_stat_statements
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
 ORDER BY total_exec_time DESC LIMIT 40;
SQL
