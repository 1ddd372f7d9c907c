#!/usr/bin/env bash
# The cost of a durable audit trail (issue 10 item 17): acknowledged writes with the audit record
# synced before the reply (this tree) against the same writes with the audit trail written
# behind the reply without a sync per batch (a build of an older commit), both as ratios to the
# echo baseline measured in the same run.
#   bench/audit_sync_bench.sh <build of the old commit> [seconds per run] [rounds]
# The old build needs dorset-finance, dorset-engagement and dorsetctl, e.g. of d67e5b2 (3c2960b^: the
# commit just before the audit sync, so the services' other code matches; 61aaa30, the previous commit
# to touch the audit path's neighbours, predates finance's move to the storage lane):
#   git worktree add --detach ../old d67e5b2 && cd ../old && source scripts/lib/configure.sh &&
#   configure_build build/release -DCMAKE_BUILD_TYPE=Release &&
#   cmake --build build/release --target dorset-finance dorset-engagement dorsetctl
# Any older build works as "old" (issue 16 compares the write path before and after its cuts);
# DORSET_BENCH_DATABASE=postgres runs every store on PostgreSQL (bench/lib/common.sh) when the old
# build has that engine. AUDIT_BENCH_OLD_ENV="NAME=value ..." is set for the old servers only, so
# "old" may be this very build with a switch (e.g. DORSET_AUDIT_DEFER=off, issue 16: pass the
# build as both, AUDIT_BENCH_BUILD=<dir> bench/audit_sync_bench.sh <dir>). This tree builds Release into build/audit-release (AUDIT_BENCH_BUILD to
# reuse another build).
# AUDIT_BENCH_CONCURRENCY sets the calls in flight (32 unless set; issue 16 also measures 2).
# Each round runs, at 32 in flight: echo, CreatePosting (old, new), CreateResponse (old, new), so
# load from elsewhere on the machine hits all alike; the summary gives the median ratios and each
# run's server CPU time per call (user + system from /proc, clock-tick resolution).
set -euo pipefail
cd "$(dirname "$0")/.."
old=$(cd "${1:?usage: bench/audit_sync_bench.sh <old build dir> [seconds] [rounds]}" && pwd)
seconds=${2:-5}
rounds=${3:-3}
build=${AUDIT_BENCH_BUILD:-build/audit-release}
read -r -a old_env <<<"${AUDIT_BENCH_OLD_ENV:-}"
if [[ -z "${AUDIT_BENCH_BUILD:-}" ]]; then
  source scripts/lib/configure.sh
  configure_build "$build" -DCMAKE_BUILD_TYPE=Release
fi
nice cmake --build "$build" -j "$(nproc)" --target dorset-echo dorset-finance dorset-engagement \
  dorset-loadgen dorsetctl >/dev/null
source bench/lib/common.sh
echo_port=$((50459 + port_offset))
echo "== old build $old ($(git -C "$old" rev-parse --short HEAD 2>/dev/null || echo '?'); env: ${old_env[*]:-none}), new build $build ($(git rev-parse --short HEAD))"
echo "== storage engine: $database"
echo "== $(date -u '+%F %H:%M UTC'), $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "== load before: $(cut -d' ' -f1-3 /proc/loadavg)"

"$build/bench/dorset-echo" "${common[@]}" --grpc_listen=127.0.0.1:$echo_port \
  --ops_listen=127.0.0.1:$((echo_port + 100)) --data_dir="$tmp/echo" &
pids+=($!)
wait_ready $((echo_port + 100))

declare -A server_pid  # by gRPC port: whose CPU time (/proc/<pid>/stat) each run reads
server_pid[$echo_port]=${pids[-1]}
start() {  # start <build> <service> <grpc port> <old|new>: a fresh store in $tmp (or its own PostgreSQL database)
  mkdir -p "$tmp/$2-$3"
  database_flags "$2_$3"
  local with=()
  # By role, not by directory: "old" may be this very build with a switch.
  [ "$4" = old ] && with=("${old_env[@]}")
  env "${with[@]}" "$1/services/$2/dorset-$2" "${common[@]}" --grpc_listen=127.0.0.1:$3 \
    --ops_listen=127.0.0.1:$(($3 + 100)) --data_dir="$tmp/$2-$3" "${db[@]}" &
  pids+=($!)
  server_pid[$3]=$!
  wait_ready $(($3 + 100))
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # user + system, in clock ticks
start "$old" finance $((50460 + port_offset)) old
start "$build" finance $((50461 + port_offset)) new
start "$old" engagement $((50462 + port_offset)) old
start "$build" engagement $((50463 + port_offset)) new
for port in $((50462 + port_offset)) $((50463 + port_offset)); do
  ctl() { "$build/cli/dorsetctl" engagement "$@" --target=127.0.0.1:$port >/dev/null; }
  ctl create-activity --id=bench --kind=SURVEY --title="[SYNTHETIC] bench survey"
  for theme in access cost; do ctl create-theme bench --id=$theme --display_name="$theme"; done
  ctl open bench
done

concurrency=${AUDIT_BENCH_CONCURRENCY:-32}
loadgen() { "$build/bench/dorset-loadgen" --duration_s="$seconds" --json --concurrency="$concurrency" --channels=$((concurrency < 4 ? concurrency : 4)) "$@"; }
posting="$(posting_request_json "bench-")"
response='{"parent":"activities/bench","requestId":"bench-{{seq}}","response":{"channel":"CHANNEL_ONLINE","sentiment":"SENTIMENT_OPPOSED","text":"[SYNTHETIC] bench response {{seq}}","themes":["activities/bench/themes/access"],"locality":"localities/bench-{{slot}}"}}'
runs=()
for round in $(seq 1 "$rounds"); do
  for run in echo:$echo_port fin-old:$((50460 + port_offset)) fin-new:$((50461 + port_offset)) eng-old:$((50462 + port_offset)) eng-new:$((50463 + port_offset)); do
    name=${run%%:*}
    port=${run##*:}
    case $name in
      echo) args=(--method=/dorset.bench.v1.EchoService/Echo --request_json='{"message":"ping"}') ;;
      fin-*) args=(--method=/dorset.finance.v1.FinanceService/CreatePosting --request_json="$posting") ;;
      eng-*) args=(--method=/dorset.engagement.v1.EngagementService/CreateResponse --request_json="$response") ;;
    esac
    before=$(cpu_ticks "${server_pid[$port]}")
    result=$(loadgen --target=127.0.0.1:$port "${args[@]}")
    ticks=$(($(cpu_ticks "${server_pid[$port]}") - before))
    echo "round $round $name cpu_ticks=$ticks $result"
    runs+=("$round $name $ticks $result")
  done
  echo "== load after round $round: $(cut -d' ' -f1-3 /proc/loadavg)"
done

printf '%s\n' "${runs[@]}" | python3 -c '
import json, os, statistics, sys
hz = os.sysconf("SC_CLK_TCK")
seconds = float(sys.argv[1])
rows = {}
for line in sys.stdin:
    rnd, name, ticks, js = line.split(" ", 3)
    run = json.loads(js)
    # The server CPU time (user + system, /proc) per call of the run, in microseconds; the CPU
    # is read around the whole run, so its warm-up second counts as calls at the same rate.
    run["cpu_us"] = int(ticks) / hz * 1e6 / max(1.0, run["qps"] * (seconds + 1))
    rows.setdefault(int(rnd), {})[name] = run
print(f"== summary ({sys.argv[2]} in flight; ratio = acknowledged writes/s / echo calls/s of the same round)")
ratios = {n: [] for n in ("fin-old", "fin-new", "eng-old", "eng-new")}
for rnd, r in sorted(rows.items()):
    e = r["echo"]["qps"]
    line = [f"round {rnd}: echo {e:.0f}/s"]
    for n in ratios:
        qps, p99, errors, cpu = r[n]["qps"], r[n]["p99_ms"], r[n]["errors"], r[n]["cpu_us"]
        p999 = r[n]["p999_ms"]
        ratios[n].append(qps / e)
        line.append(f"{n} {qps:.0f}/s ({qps / e:.3f}x, p99 {p99:.2f} ms, p99.9 {p999:.2f} ms,"
                    f" errors {errors},"
                    f" cpu {cpu:.0f} us/call)")
    echo_cpu = r["echo"]["cpu_us"]
    print(f"{line[0]} (cpu {echo_cpu:.0f} us/call)  " + "  ".join(line[1:]))
for svc, label in (("fin", "postings"), ("eng", "responses")):
    o, n = statistics.median(ratios[svc + "-old"]), statistics.median(ratios[svc + "-new"])
    print(f"{label:10s} median ratio to echo: old build {o:.3f}x, this tree {n:.3f}x"
          f"  (new/old {n / o:.2f})")
' "$seconds" "$concurrency"
