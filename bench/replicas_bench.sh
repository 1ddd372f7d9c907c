#!/usr/bin/env bash
# Throughput with 1, 2 and 3 replicas of the registry and of finance on ONE PostgreSQL (issue 13, Capacity).
#   bench/replicas_bench.sh [seconds per run] [replica counts, default "1 2 3"]
# Builds Release into build/replicas-release (REPLICAS_BENCH_BUILD to reuse another), starts a PostgreSQL 15 of
# the run's own (bench/lib/common.sh, DORSET_BENCH_DATABASE=postgres; SQLite is refused: one file, one writer),
# loads the national epraccur into the registry once, then for each N starts N registry and N finance processes
# on the same two databases and spreads one closed-loop load generator evenly over the N targets
# (dorset-loadgen --mix, one line per replica, equal weights):
#   GetPractice (cached) 64 in flight, ListPractices (page of 50 by locality) 64 in flight,
#   CreatePosting 32 in flight (each acknowledged = committed), GetReport 32 in flight.
# For every run it also records the CPU time used by the service processes, by PostgreSQL (postmaster and
# backends) and by the load generator, so each call's CPU cost (service ms + database ms) is known: that, not
# the QPS of a 2-core machine, is what docs/capacity.md scales from.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-8}
counts=${2:-"1 2 3"}
export DORSET_BENCH_DATABASE=${DORSET_BENCH_DATABASE:-postgres}
if [[ $DORSET_BENCH_DATABASE != postgres ]]; then
  echo "replicas need PostgreSQL (a SQLite store has one writer): DORSET_BENCH_DATABASE=postgres" >&2
  exit 2
fi
build=${REPLICAS_BENCH_BUILD:-build/replicas-release}
if [[ -f scripts/lib/configure.sh ]]; then
  source scripts/lib/configure.sh
  configure_build "$build" -DCMAKE_BUILD_TYPE=Release
fi
nice cmake --build "$build" -j "$(nproc)" --target dorset-registry dorset-finance dorset-loadgen dorsetctl >/dev/null
source bench/lib/common.sh
# gRPC ports base..base+2 (registry) and base+10.. (finance), ops ports 100 above; REPLICAS_BENCH_PORT_BASE moves
# them off ports another run on the machine uses.
registry_base=${REPLICAS_BENCH_PORT_BASE:-$((50460 + port_offset))}
finance_base=$((registry_base + 10))

database_flags registry
registry_db=("${db[@]}")
database_flags finance
finance_db=("${db[@]}")
pg_pid=$(head -1 "$pg_data/postmaster.pid")

# cpu_ms <pid>...: user+system CPU of those processes and of their live children, plus what they have reaped.
tick_ms=$((1000 / $(getconf CLK_TCK)))
cpu_ms() {
  local total=0 pid f
  for pid in "$@"; do
    for p in "$pid" $(pgrep -P "$pid" || true); do
      [[ -r /proc/$p/stat ]] || continue
      read -ra f < <(sed 's/^.*) //' "/proc/$p/stat")
      total=$((total + f[11] + f[12] + f[13] + f[14]))
    done
  done
  echo $((total * tick_ms))
}

start_replicas() {  # start_replicas <service> <base port> <count> -> rep_pids, rep_targets
  local svc=$1 base=$2 n=$3 i port
  rep_pids=()
  rep_targets=()
  for i in $(seq 0 $((n - 1))); do
    port=$((base + i))
    mkdir -p "$tmp/$svc-$i"
    local -n dbflags=${svc}_db
    "$build/services/$svc/dorset-$svc" "${common[@]}" --grpc_listen=127.0.0.1:$port \
      --ops_listen=127.0.0.1:$((port + 100)) --data_dir="$tmp/$svc-$i" "${dbflags[@]}" &
    rep_pids+=($!)
    pids+=($!)
    # One at a time: the first runs the migrations (and finance seeds its plan) before the next opens.
    wait_ready $((port + 100))
    rep_targets+=("127.0.0.1:$port")
  done
}

stop_replicas() {
  local pid
  for pid in "${rep_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${rep_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}

# run <label> <method> <json> <concurrency>: one loadgen over every replica; prints a JSON line.
run() {
  local label=$1 method=$2 json=$3 conc=$4 mix=$tmp/mix.tsv i=0 t before_svc before_pg after_svc after_pg out
  : >"$mix"
  for t in "${rep_targets[@]}"; do
    printf '%s-%d\t1\t%s\t%s\t%s\n' "$label" "$i" "$t" "$method" "$json" >>"$mix"
    i=$((i + 1))
  done
  before_svc=$(cpu_ms "${rep_pids[@]}")
  before_pg=$(cpu_ms "$pg_pid")
  local t0 t1
  t0=$(date +%s%N)
  out=$(/usr/bin/time -f '%U %S' -o "$tmp/loadgen.time" "$build/bench/dorset-loadgen" --duration_s="$seconds" \
    --json --mix="$mix" --concurrency="$conc" --channels=$((2 * ${#rep_targets[@]})))
  t1=$(date +%s%N)
  after_svc=$(cpu_ms "${rep_pids[@]}")
  after_pg=$(cpu_ms "$pg_pid")
  python3 - "$out" "$label" "${#rep_targets[@]}" "$conc" $((after_svc - before_svc)) $((after_pg - before_pg)) \
    "$(cat "$tmp/loadgen.time")" $(((t1 - t0) / 1000000)) <<'PY'
import json, sys
r = json.loads(sys.argv[1])
label, n, conc, svc_ms, pg_ms = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
u, s = (float(x) for x in sys.argv[7].split())
wall_ms = int(sys.argv[8])
# The CPU figures span the whole run (1 s warm-up included): calls over that span at the measured rate.
calls = r["qps"] * wall_ms / 1000
print(json.dumps({"scenario": label, "replicas": n, "concurrency": conc, "qps": round(r["qps"]),
                  "p50_ms": r.get("p50_ms"), "p99_ms": r.get("p99_ms"), "errors": r.get("errors"),
                  "error_codes": r.get("error_codes"),
                  "calls": r["calls"], "service_cpu_ms": svc_ms, "postgres_cpu_ms": pg_ms,
                  "loadgen_cpu_ms": round((u + s) * 1000), "wall_ms": wall_ms,
                  "service_cpu_us_per_call": round(svc_ms * 1000 / calls, 1) if calls else None,
                  "postgres_cpu_us_per_call": round(pg_ms * 1000 / calls, 1) if calls else None}))
PY
}

# Committed and rolled-back transactions of the finance database so far ("commits|rollbacks").
finance_tx() {
  pg_psql -d postgres -Atc "SELECT xact_commit || '|' || xact_rollback FROM pg_stat_database WHERE datname = 'dorset_finance'"
}

results=()
start_replicas registry $registry_base 1
echo "== import of the national epraccur into the registry database (once)"
ctl() { "$build/cli/dorsetctl" registry "$@" --target=127.0.0.1:$registry_base; }
ctl import-epraccur data/ods/epraccur-2025-05.csv --commissioner=all | head -2
ctl import-localities data/dorset/localities.csv data/dorset/practice-localities.csv >/dev/null
stop_replicas
method=/dorset.registry.v1.RegistryService
fmethod=/dorset.finance.v1.FinanceService
posting="$(posting_request_json "bench-N-")"
for n in $counts; do
  echo "== $n replica(s) of the registry"
  start_replicas registry $registry_base "$n"
  for t in "${rep_targets[@]}"; do
    "$build/cli/dorsetctl" registry get J81002 --target="$t" >/dev/null  # each replica's read cache
  done
  results+=("$(run GetPractice $method/GetPractice '{"name":"practices/J81002"}' 64)")
  echo "${results[-1]}"
  results+=("$(run ListPractices $method/ListPractices '{"locality":"localities/north-bournemouth","pageSize":50}' 64)")
  echo "${results[-1]}"
  stop_replicas
  echo "== $n replica(s) of finance"
  start_replicas finance $finance_base "$n"
  tx_before=$(finance_tx)
  results+=("$(run CreatePosting $fmethod/CreatePosting "${posting//-N-/-$n-}" 32)")
  sleep 2  # backends report their transaction counts at most once a second
  tx_after=$(finance_tx)
  echo "${results[-1]}"
  # Postings per group commit, over every replica (each batches its own concurrent postings).
  groups=0 grouped=0
  for t in "${rep_targets[@]}"; do
    m=$(curl -sf "http://127.0.0.1:$((${t##*:} + 100))/metrics" || true)
    groups=$(awk -v a="$groups" '/^finance_ledger_group_requests_count/ {a += $2} END {print a}' <<<"$m")
    grouped=$(awk -v a="$grouped" '/^finance_ledger_group_requests_sum/ {a += $2} END {print a}' <<<"$m")
  done
  echo "CreatePosting with $n replica(s): $grouped postings in $groups group commits" \
    "($(awk -v a="$grouped" -v b="$groups" 'BEGIN {if (b > 0) printf "%.1f", a / b; else print "-"}') per commit);" \
    "PostgreSQL dorset_finance: $(awk -v a="$tx_before" -v b="$tx_after" 'BEGIN {split(a, x, "|"); split(b, y, "|");
      printf "%d commits, %d rollbacks (serialization retries)", y[1] - x[1], y[2] - x[2]}')"
  results+=("$(run GetReport $fmethod/GetReport "$report_request_json" 32)")
  echo "${results[-1]}"
  stop_replicas
done

python3 - "$(nproc)" "${results[@]}" <<'PY'
import json, sys
cores = sys.argv[1]
rows = [json.loads(a) for a in sys.argv[2:]]
print(f"== summary ({cores} cores; every replica, PostgreSQL and the load generator on this one machine)")
print(f"{'scenario':<14}{'N':>3}{'QPS':>9}{'p50 ms':>9}{'p99 ms':>9}{'err':>5}"
      f"{'svc us/call':>13}{'pg us/call':>12}{'svc+pg+lg CPU / wall':>22}")
for r in rows:
    busy = (r["service_cpu_ms"] + r["postgres_cpu_ms"] + r["loadgen_cpu_ms"]) / r["wall_ms"]
    print(f"{r['scenario']:<14}{r['replicas']:>3}{r['qps']:>9}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}"
          f"{r['errors']:>5}{r['service_cpu_us_per_call']:>13}{r['postgres_cpu_us_per_call']:>12}{busy:>20.2f}")
PY
