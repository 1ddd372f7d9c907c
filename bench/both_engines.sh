#!/usr/bin/env bash
# Every bench/ scenario on both storage engines, one after another, on ONE Release build (issue 12
# item 7): the table "Every scenario on both engines" in bench/README.md comes from one run of this.
#   bench/both_engines.sh [seconds per run] [rounds]          (defaults 5 and 3)
# Builds Release into build/release (DORSET_BENCH_BUILD to use another build) with every bench
# target once, then runs each scenario with DORSET_BENCH_DATABASE=sqlite and =postgres (the
# scenario's *_BENCH_BUILD pointing at that build), each engine right after the other:
#   baseline registry finance engagement theme_coding search reads mixed gateway costs   both engines
#   pipeline replicas                    PostgreSQL only (pipeline mode; many replicas on one database)
#   echo_floor rate_limit                once: no store (echo vs bare echo; the call gate's check)
#   audit_sync                           SQLite, only with BOTH_ENGINES_AUDIT_OLD=<build of d67e5b2>
# BOTH_ENGINES_ONLY="finance search" runs only those. Logs go to BOTH_ENGINES_LOG (default
# var/bench/<UTC time>): one file per run, and summary.txt with, per run, the command, start time,
# load average before and after, exit status and the script's summary lines.
set -uo pipefail
cd "$(dirname "$0")/.."
# The scenarios' fixed ports (50159..51161) lie in Linux's ephemeral range, where another run or any
# outgoing connection may hold one: moved 30,000 down unless told otherwise (bench/lib/common.sh).
export DORSET_BENCH_PORT_OFFSET=${DORSET_BENCH_PORT_OFFSET:--30000}
seconds=${1:-5}
rounds=${2:-3}
build=${DORSET_BENCH_BUILD:-build/release}
log=${BOTH_ENGINES_LOG:-var/bench/$(date -u +%Y%m%dT%H%MZ)}
mkdir -p "$log"
source scripts/lib/configure.sh
configure_build "$build" -DCMAKE_BUILD_TYPE=Release
nice cmake --build "$build" -j "$(nproc)" --target dorset-echo dorset-echo-bare dorset-loadgen \
  dorset-registry dorset-finance dorset-engagement dorset-engagement-synth dorsetctl dorset-gateway \
  dorset-rate-limit-bench >/dev/null || exit 1
summary=$log/summary.txt
{
  echo "commit $(git rev-parse --short HEAD) ($(git log -1 --format=%cd --date=iso-strict)), build $build"
  echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
    "$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(. /etc/os-release && echo "$PRETTY_NAME")"
} | tee "$summary"

wanted() { [[ -z "${BOTH_ENGINES_ONLY:-}" || " $BOTH_ENGINES_ONLY " == *" $1 "* ]]; }
# run <scenario> <engine> <command...>: one run, its log and its summary lines.
run() {
  local name=$1 engine=$2
  shift 2
  wanted "$name" || return 0
  local out=$log/$name-$engine.log start rc
  start=$(date -u '+%F %H:%M:%S')
  echo "== $name on $engine: $([ "$engine" = none ] || echo "DORSET_BENCH_DATABASE=$engine ")$*" | tee -a "$summary"
  echo "   start $start UTC, load average $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$summary"
  # "none": the scenario has no store; common.sh still wants an engine name.
  DORSET_BENCH_DATABASE=${engine/none/sqlite} "$@" >"$out" 2>&1
  rc=$?
  echo "   end $(date -u '+%H:%M:%S') UTC, load average $(cut -d' ' -f1-3 /proc/loadavg), exit $rc" | tee -a "$summary"
  # The lines after the script's "== summary" heading (or its last 25 lines when it has none).
  if grep -q '^== summary' "$out"; then
    sed -n '/^== summary/,$p' "$out" | sed 's/^/   | /' >>"$summary"
  else
    tail -25 "$out" | sed 's/^/   | /' >>"$summary"
  fi
}
b=$build
for engine in sqlite postgres; do run baseline $engine env BASELINE_BENCH_BUILD=$b bench/baseline.sh "$seconds"; done
for engine in sqlite postgres; do run registry $engine env REGISTRY_BENCH_BUILD=$b bench/registry_bench.sh "$seconds"; done
for engine in sqlite postgres; do run finance $engine env FINANCE_BENCH_BUILD=$b bench/finance_bench.sh "$seconds" "$rounds"; done
for engine in sqlite postgres; do
  run engagement $engine env ENGAGEMENT_BENCH_BUILD=$b bench/engagement_bench.sh "$seconds" 1000000
done
for engine in sqlite postgres; do
  run theme_coding $engine env ENGAGEMENT_BENCH_BUILD=$b bench/theme_coding_bench.sh 18500
done
for engine in sqlite postgres; do run search $engine env SEARCH_BENCH_BUILD=$b bench/search_bench.sh "$seconds" "$rounds"; done
for engine in sqlite postgres; do run reads $engine env READS_BENCH_BUILD=$b bench/reads_bench.sh "$seconds" "$rounds"; done
for engine in sqlite postgres; do run mixed $engine env MIXED_BENCH_BUILD=$b bench/mixed_bench.sh "$seconds" "$rounds"; done
for engine in sqlite postgres; do
  run gateway $engine env GATEWAY_BENCH_BUILD=$b bench/gateway_bench.sh "$seconds" "$rounds"
done
if command -v valgrind >/dev/null; then
  for engine in sqlite postgres; do run costs $engine env COSTS_BUILD=$b bench/costs.sh 1000; done
fi
run pipeline postgres env PIPELINE_BENCH_BUILD=$b bench/pipeline_bench.sh "$seconds" "$rounds"
run replicas postgres env REPLICAS_BENCH_BUILD=$b bench/replicas_bench.sh "$seconds"
run echo_floor none env ECHO_FLOOR_BUILD=$b bench/echo_floor.sh "$seconds" "$rounds"
run rate_limit none env RATE_LIMIT_BENCH_BUILD=$b bench/rate_limit_bench.sh
if [[ -n "${BOTH_ENGINES_AUDIT_OLD:-}" ]]; then
  run audit_sync sqlite env AUDIT_BENCH_BUILD=$b bench/audit_sync_bench.sh "$BOTH_ENGINES_AUDIT_OLD" "$seconds" "$rounds"
fi
echo "== logs in $log" | tee -a "$summary"
