#!/usr/bin/env bash
# Instructions per acknowledged write at 32 in flight (issue 16), an older build against this
# tree: CreatePosting and CreateResponse, each server under valgrind's callgrind, so group commit
# is amortised as under load (bench/costs.sh counts at 1 in flight, one call per group).
#   bench/writes_costs.sh <old build> [calls]     (default 2000 measured calls per method)
# For each build and method: a native start prepares the store (finance's seed plan; an open
# survey with themes), then the server runs under callgrind; WRITES_COSTS_WARMUP (200) calls,
# counters zeroed, exactly `calls` calls from dorset-loadgen --concurrency=32 --channels=4 (run
# natively), a dump; bench/lib/callgrind_costs.py splits it by component (every thread of the
# server, user space only: not fsync, not the kernel). Also printed: calls per group commit
# (the services' group-size histograms) over the measured calls. This tree builds Release into
# build/release (WRITES_COSTS_BUILD to reuse another build). DORSET_BENCH_DATABASE as elsewhere.
# WRITES_COSTS_REFERENCE=1 adds this build's echo and committed echo (below).
# WRITES_COSTS_OLD_ENV="NAME=value ..." is set for the old servers only, so "old" may be this
# build with a switch: WRITES_COSTS_BUILD=<dir> WRITES_COSTS_OLD_ENV=DORSET_AUDIT_DEFER=off
# bench/writes_costs.sh <dir>. WRITES_COSTS_ONLY=CreatePosting (or CreateResponse): that method
# only.
set -euo pipefail
cd "$(dirname "$0")/.."
old=$(cd "${1:?usage: bench/writes_costs.sh <old build dir> [calls]}" && pwd)
calls=${2:-2000}
warmup=${WRITES_COSTS_WARMUP:-200}
build=${WRITES_COSTS_BUILD:-build/release}
read -r -a old_env <<<"${WRITES_COSTS_OLD_ENV:-}"  # set for the old servers only
for tool in valgrind callgrind_control; do
  command -v $tool >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 2; }
done
if [[ -z "${WRITES_COSTS_BUILD:-}" ]]; then
  source scripts/lib/configure.sh
  configure_build "$build" -DCMAKE_BUILD_TYPE=Release
  nice cmake --build "$build" -j "$(nproc)" --target dorset-finance dorset-engagement \
    dorset-echo dorset-committed-echo dorset-loadgen dorsetctl >/dev/null
fi
build=$(cd "$build" && pwd)
source bench/lib/common.sh
mkdir -p "$tmp/cg"
echo "== old build $old ($(git -C "$old" rev-parse --short HEAD 2>/dev/null || echo '?'); env: ${old_env[*]:-none}), new build $build ($(git rev-parse --short HEAD))"
echo "== $(date -u '+%F %H:%M UTC'), storage engine $database, $calls calls at ${WRITES_COSTS_CONCURRENCY:-32} in flight after $warmup; load average $(cut -d' ' -f1-3 /proc/loadavg)"

stop() { kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
# The sum and count of a histogram (no labels) on the ops port's /metrics.
histogram() { curl -sf "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m"_sum" {s=$2} $1 == m"_count" {c=$2} END {print s+0, c+0}'; }

results=()
# measure <label> <grpc port> <ops port> <histogram> <method> <json>
measure() {
  local label=$1 port=$2 ops=$3 hist=$4 method=$5 request=$6
  local lg=("$build/bench/dorset-loadgen" --target=127.0.0.1:$port --method="$method"
    --request_json="$request" --concurrency="${WRITES_COSTS_CONCURRENCY:-32}" --channels=4 --warmup_s=0 --json)
  "${lg[@]}" --calls="$warmup" >/dev/null
  local before after
  before=$(histogram "$ops" "$hist")
  callgrind_control -z "$server" >/dev/null
  local run
  run=$("${lg[@]}" --calls="$calls")
  callgrind_control -d "$server" >/dev/null
  after=$(histogram "$ops" "$hist")
  local errors
  errors=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["errors"])' "$run")
  [ "$errors" = 0 ] || { echo "$label: $errors of $calls calls failed: $run" >&2; exit 1; }
  local dump
  dump=$(ls -t "$tmp/cg/"*.out.* | head -1)
  results+=("$label	$before $after	$(python3 bench/lib/callgrind_costs.py "$calls" "$dump")")
  [ -n "${WRITES_COSTS_KEEP:-}" ] && mkdir -p "$WRITES_COSTS_KEEP" && cp "$dump" "$WRITES_COSTS_KEEP/${label// /_}.out"
  rm -f "$tmp/cg/"*.out*
  echo "$label: done"
}

n=0
for which in old new; do
  b=$old
  with=("${old_env[@]}")
  [ $which = new ] && b=$build && with=()
  n=$((n + 1))
  port=$((50860 + 2 * n + port_offset))
  database_flags "finance_$which"
  finance=("$b/services/finance/dorset-finance" "${common[@]}" --grpc_listen=127.0.0.1:$port
    --ops_listen=127.0.0.1:$((port + 100)) --data_dir="$tmp/finance-$which" "${db[@]}")
  if [ "${WRITES_COSTS_ONLY:-CreatePosting}" = CreatePosting ]; then
    "${finance[@]}" &
    native=$!
    pids+=($native)
    wait_ready $((port + 100))
    stop $native
    env "${with[@]}" valgrind --tool=callgrind --callgrind-out-file="$tmp/cg/f.out" "${finance[@]}" >"$tmp/cg/f.log" 2>&1 &
    server=$!
    pids+=($server)
    for _ in $(seq 1 1800); do curl -sf "http://127.0.0.1:$((port + 100))/readyz" >/dev/null && break; sleep 0.1; done
    measure "CreatePosting $which" $port $((port + 100)) finance_ledger_group_requests \
      /dorset.finance.v1.FinanceService/CreatePosting \
      "$(posting_request_json "w-" costs)"
    stop "$server"
  fi

  port=$((port + 1))
  [ "${WRITES_COSTS_ONLY:-CreateResponse}" = CreateResponse ] || continue
  database_flags "engagement_$which"
  engagement=("$b/services/engagement/dorset-engagement" "${common[@]}" --grpc_listen=127.0.0.1:$port
    --ops_listen=127.0.0.1:$((port + 100)) --data_dir="$tmp/engagement-$which" "${db[@]}")
  "${engagement[@]}" &
  native=$!
  pids+=($native)
  wait_ready $((port + 100))
  open_survey "$build/cli/dorsetctl" 127.0.0.1:$port costs
  stop $native
  env "${with[@]}" valgrind --tool=callgrind --callgrind-out-file="$tmp/cg/e.out" "${engagement[@]}" >"$tmp/cg/e.log" 2>&1 &
  server=$!
  pids+=($server)
  for _ in $(seq 1 1800); do curl -sf "http://127.0.0.1:$((port + 100))/readyz" >/dev/null && break; sleep 0.1; done
  measure "CreateResponse $which" $port $((port + 100)) engagement_response_batch_size \
    /dorset.engagement.v1.EngagementService/CreateResponse \
    "$(response_request_json costs w-)"
  stop "$server"
done

# WRITES_COSTS_REFERENCE=1: this build's echo and committed echo (bench/committed_echo, --commit=
# empty and row) measured the same way, after the methods: what a call costs with no write, with
# the group commit's hand-offs alone, and with a row a call (bench/README.md, session 29).
if [ -n "${WRITES_COSTS_REFERENCE:-}" ]; then
  port=$((50860 + 2 * n + 2 + port_offset))
  for mode in plain empty row; do
    port=$((port + 1))
    if [ $mode = plain ]; then
      server_cmd=("$build/bench/dorset-echo")
      hist=none label="echo"
    else
      database_flags "committed_echo_$mode"
      server_cmd=("$build/bench/dorset-committed-echo" --commit=$mode "${db[@]}")
      hist=committed_echo_group_requests label="committed echo $mode"
    fi
    server_cmd+=("${common[@]}" --grpc_listen=127.0.0.1:$port --ops_listen=127.0.0.1:$((port + 100))
      --data_dir="$tmp/echo-$mode")
    valgrind --tool=callgrind --callgrind-out-file="$tmp/cg/r.out" "${server_cmd[@]}" >"$tmp/cg/r.log" 2>&1 &
    server=$!
    pids+=($server)
    for _ in $(seq 1 1800); do curl -sf "http://127.0.0.1:$((port + 100))/readyz" >/dev/null && break; sleep 0.1; done
    measure "$label" $port $((port + 100)) $hist /dorset.bench.v1.EchoService/Echo '{"message":"hi"}'
    stop "$server"
  done
fi
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "${results[@]}" <<'PY'
import json, sys
components = ["interceptors", "hashing", "sql", "audit", "logging", "metrics", "parsing", "serialisation"]
print("| method | Ir per call | calls per group | " + " | ".join(components) + " |")
print("| --- | ---: | ---: | " + " | ".join("---:" for _ in components) + " |")
for arg in sys.argv[1:]:
    label, hist, data = arg.split("\t")
    s0, c0, s1, c1 = (float(x) for x in hist.split())
    per_group = (s1 - s0) / (c1 - c0) if c1 > c0 else float("nan")
    r = json.loads(data)
    comp = r.get("components", {})
    print(f"| {label} | {r['per_call']:,.0f} | {per_group:.1f} | "
          + " | ".join(f"{comp.get(c, 0):,.0f}" for c in components) + " |")
PY
