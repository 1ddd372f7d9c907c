#!/usr/bin/env bash
# The cost guard: instructions per call (valgrind's callgrind) of the bare echo, the runtime's
# echo and each hot method, by component, compared with bench/costs.baseline.json.
#   bench/costs.sh [calls]            (default 1000 measured calls per method)
#   COSTS_UPDATE=1 bench/costs.sh     records this run's figures as the new baseline (the rows
#                                     measured; other rows of the engine's baseline are kept)
#   COSTS_ONLY="finance engagement"   measures the echoes and only these services' methods
#                                     (of: registry finance engagement; default all)
# A maintainers' script, not a test: it needs valgrind (not installed by install-deps.sh).
#
# Each server runs under callgrind. For each method: --warmup calls (caches filled, statements
# prepared), counters zeroed (callgrind_control -z), exactly N calls at 1 in flight from
# dorset-loadgen (run natively), a dump (callgrind_control -d); bench/lib/callgrind_costs.py
# divides the dump by N and splits it by component. Counted: every thread of the server, user
# space only (not the kernel: syscalls, fsync, the network). Stores are prepared by a native run
# first (national epraccur import, seed plan, a consultation with themes), so only the measured
# calls run under valgrind. Works on both engines (DORSET_BENCH_DATABASE, bench/lib/common.sh);
# on PostgreSQL the database server's own instructions are not counted.
#
# A method whose cost is >= 20 % above the baseline for this engine is flagged and the script
# exits 1 (after printing everything).
set -euo pipefail
cd "$(dirname "$0")/.."
calls=${1:-1000}
warmup=${COSTS_WARMUP:-200}
for tool in valgrind callgrind_control; do
  if ! command -v $tool >/dev/null 2>&1; then
    echo "bench/costs.sh needs valgrind (a maintainers' tool, not part of the build or tests):" >&2
    echo "  apt-get install valgrind" >&2
    exit 2
  fi
done
build=${COSTS_BUILD:-build/release}
if [[ -z "${COSTS_BUILD:-}" ]]; then
  source scripts/lib/configure.sh
  configure_build "$build" -DCMAKE_BUILD_TYPE=Release
  nice cmake --build "$build" -j "$(nproc)" --target dorset-echo dorset-echo-bare dorset-loadgen \
    dorset-registry dorset-finance dorset-engagement dorsetctl >/dev/null
fi
source bench/lib/common.sh
mkdir -p "$tmp/cg"
echo "== storage engine: $database; $calls calls per method after $warmup warm-up calls; load average $(cut -d' ' -f1-3 /proc/loadavg)"

wait_up() {  # wait_up <ops port | grpc port>: /readyz when there is an ops port, else the port (180 s)
  for _ in $(seq 1 1800); do
    if curl -sf "http://127.0.0.1:$1/readyz" >/dev/null 2>&1 ||
      { [ "${2:-}" = port ] && (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }; then
      return 0
    fi
    sleep 0.1
  done
  echo "server on port $1 did not come up" >&2
  return 1
}
stop() { kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# callgrind <name> <cmd...>: starts cmd under callgrind (pid in $server)
callgrind() {
  local name=$1
  shift
  valgrind --tool=callgrind --callgrind-out-file="$tmp/cg/$name.out" "$@" >"$tmp/cg/$name.log" 2>&1 &
  server=$!
  pids+=($server)
}

results=()
# measure <label> <target> <method> <request json>: warm-up, zero, N calls, dump, analyse.
measure() {
  local label=$1 target=$2 method=$3 request=$4
  local lg=("$build/bench/dorset-loadgen" --target="$target" --method="$method"
    --request_json="$request" --concurrency=1 --channels=1 --warmup_s=0 --json)
  "${lg[@]}" --calls="$warmup" >/dev/null
  callgrind_control -z "$server" >/dev/null
  local run
  run=$("${lg[@]}" --calls="$calls")
  callgrind_control -d "$server" >/dev/null
  local dump
  dump=$(ls -t "$tmp/cg/"*.out.* | head -1)
  local errors
  errors=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["errors"])' "$run")
  if [ "$errors" != 0 ]; then
    echo "$label: $errors of $calls calls failed: $run" >&2
    exit 1
  fi
  results+=("$label	$(python3 bench/lib/callgrind_costs.py "$calls" "$dump")")
  echo "$label: done"
}

only=${COSTS_ONLY:-registry finance engagement}
wanted() { [[ " $only " == *" $1 "* ]]; }

echo_method=/dorset.bench.v1.EchoService/Echo
callgrind bare "$build/bench/dorset-echo-bare" --grpc_listen=127.0.0.1:$((50659 + port_offset))
wait_up $((50659 + port_offset)) port
measure "bare echo" 127.0.0.1:$((50659 + port_offset)) $echo_method '{"message":"ping"}'
stop "$server"

callgrind echo "$build/bench/dorset-echo" "${common[@]}" --grpc_listen=127.0.0.1:$((50660 + port_offset)) \
  --ops_listen=127.0.0.1:$((50760 + port_offset)) --data_dir="$tmp/echo"
wait_up $((50760 + port_offset))
measure "runtime echo" 127.0.0.1:$((50660 + port_offset)) $echo_method '{"message":"ping"}'
stop "$server"

# Registry: the national extract imported natively, then GetPractice (cached) and ListPractices.
if wanted registry; then
database_flags registry
registry=("$build/services/registry/dorset-registry" "${common[@]}" --grpc_listen=127.0.0.1:$((50661 + port_offset))
  --ops_listen=127.0.0.1:$((50761 + port_offset)) --data_dir="$tmp/registry" "${db[@]}")
"${registry[@]}" &
native=$!
pids+=($native)
wait_up $((50761 + port_offset))
ctl() { "$build/cli/dorsetctl" registry "$@" --target=127.0.0.1:$((50661 + port_offset)) >/dev/null; }
ctl import-epraccur data/ods/epraccur-2025-05.csv --commissioner=all
ctl import-localities data/dorset/localities.csv data/dorset/practice-localities.csv
ctl import-list-sizes data/ods/gp-reg-pat-prac-all-2021-01.csv
stop $native
callgrind registry "${registry[@]}"
wait_up $((50761 + port_offset))
registry_method=/dorset.registry.v1.RegistryService
measure "GetPractice (cached)" 127.0.0.1:$((50661 + port_offset)) $registry_method/GetPractice \
  '{"name":"practices/J81002"}'
measure "ListPractices by locality (50)" 127.0.0.1:$((50661 + port_offset)) $registry_method/ListPractices \
  '{"locality":"localities/north-bournemouth","pageSize":50}'
stop "$server"
# The cold common-word search (bench/search_bench.sh's "common" with the reply cache off: every
# call does the store's work, as every call after a write would).
DORSET_REGISTRY_REPLY_CACHE=off callgrind registry-cold "${registry[@]}"
wait_up $((50761 + port_offset))
measure "ListPractices name search, cold (50)" 127.0.0.1:$((50661 + port_offset)) \
  $registry_method/ListPractices '{"statuses":["STATUS_ACTIVE"],"nameContains":"surgery","pageSize":50}'
stop "$server"
fi

# Finance: the seed plan (first start, native), then CreatePosting and GetReport.
if wanted finance; then
database_flags finance
finance=("$build/services/finance/dorset-finance" "${common[@]}" --grpc_listen=127.0.0.1:$((50662 + port_offset))
  --ops_listen=127.0.0.1:$((50762 + port_offset)) --data_dir="$tmp/finance" "${db[@]}")
"${finance[@]}" &
native=$!
pids+=($native)
wait_up $((50762 + port_offset))
stop $native
callgrind finance "${finance[@]}"
wait_up $((50762 + port_offset))
finance_method=/dorset.finance.v1.FinanceService
measure "CreatePosting" 127.0.0.1:$((50662 + port_offset)) $finance_method/CreatePosting \
  "$(posting_request_json "costs-" costs)"
measure "GetReport" 127.0.0.1:$((50662 + port_offset)) $finance_method/GetReport \
  "$report_request_json"
stop "$server"
fi

# Engagement: an open survey with themes (native), then CreateResponse, its aggregates and the
# activity.
if wanted engagement; then
database_flags engagement
engagement=("$build/services/engagement/dorset-engagement" "${common[@]}"
  --grpc_listen=127.0.0.1:$((50663 + port_offset)) --ops_listen=127.0.0.1:$((50763 + port_offset)) --data_dir="$tmp/engagement" "${db[@]}")
"${engagement[@]}" &
native=$!
pids+=($native)
wait_up $((50763 + port_offset))
ectl() { "$build/cli/dorsetctl" engagement "$@" --target=127.0.0.1:$((50663 + port_offset)) >/dev/null; }
ectl create-activity --id=costs --kind=SURVEY --title="[SYNTHETIC] costs survey"
for theme in access cost staffing; do ectl create-theme costs --id=$theme --display_name="$theme"; done
ectl open costs
stop $native
callgrind engagement "${engagement[@]}"
wait_up $((50763 + port_offset))
engagement_method=/dorset.engagement.v1.EngagementService
measure "CreateResponse" 127.0.0.1:$((50663 + port_offset)) $engagement_method/CreateResponse \
  '{"parent":"activities/costs","requestId":"costs-{{seq}}","response":{"channel":"CHANNEL_ONLINE","sentiment":"SENTIMENT_OPPOSED","text":"[SYNTHETIC] costs response {{seq}}","themes":["activities/costs/themes/access","activities/costs/themes/cost"],"locality":"localities/costs-{{slot}}"}}'
measure "GetActivityAggregates" 127.0.0.1:$((50663 + port_offset)) $engagement_method/GetActivityAggregates \
  '{"name":"activities/costs/aggregates"}'
measure "GetActivity" 127.0.0.1:$((50663 + port_offset)) $engagement_method/GetActivity \
  '{"name":"activities/costs"}'
stop "$server"
fi
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$database" "${COSTS_UPDATE:-}" "$calls" "${results[@]}" <<'PY'
import datetime, json, os, platform, sys
database, update, calls = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3])
rows = [(label, json.loads(data)) for label, data in (a.split("\t", 1) for a in sys.argv[4:])]
path = "bench/costs.baseline.json"
baseline = json.load(open(path)) if os.path.exists(path) else {}
recorded = baseline.get(database, {}).get("per_call", {})
bare = dict(rows)["bare echo"]["per_call"]
components = ["interceptors", "gate_auth", "parsing", "serialisation", "json", "hashing", "sql",
              "logging", "metrics", "audit"]
print(f"== instructions per call ({database}, {calls} calls at 1 in flight, Release)")
print("| method | Ir per call | x bare echo | baseline | change | "
      + " | ".join(c.replace("_", "/") for c in components) + " |")
print("| --- | ---: | ---: | ---: | ---: | " + " | ".join("---:" for _ in components) + " |")
flagged = []
for label, r in rows:
    base = recorded.get(label)
    change = ""
    if base:
        delta = r["per_call"] / base - 1
        change = f"{delta:+.1%}"
        if delta >= 0.20:
            change += " **FLAG**"
            flagged.append(f"{label}: {base:,} -> {r['per_call']:,} ({delta:+.1%})")
    cells = [f"{r['components'][c]:,}" if r["components"][c] else "-" for c in components]
    print(f"| {label} | {r['per_call']:,} | {r['per_call'] / bare:.2f} | "
          f"{f'{base:,}' if base else 'none'} | {change} | " + " | ".join(cells) + " |")
if update:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    entry = baseline.setdefault(database, {})
    all_rows = {"bare echo", "runtime echo"} | set(entry.get("per_call", {}))
    measured = [label for label, _ in rows]
    if set(measured) >= all_rows or not entry:
        entry["recorded"] = now
    else:  # some rows only: the others keep their figures and dates
        entry["recorded"] = f"{entry.get('recorded', '')}; {', '.join(measured)} {now}"
    entry["machine"] = f"{platform.machine()}, {os.cpu_count()} cores"
    entry["calls"] = calls
    for label, r in rows:
        entry.setdefault("per_call", {})[label] = r["per_call"]
        entry.setdefault("components", {})[label] = r["components"]
    with open(path, "w") as f:
        json.dump(baseline, f, indent=2)
        f.write("\n")
    print(f"recorded as the {database} baseline in {path}")
if flagged:
    print("FLAGGED (>= 20 % above the recorded baseline):")
    for line in flagged:
        print("  " + line)
    sys.exit(1)
PY
