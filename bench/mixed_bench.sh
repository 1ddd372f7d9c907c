#!/usr/bin/env bash
# The whole system at once: registry, finance and engagement under one weighted mix of methods
# (90 % reads, 10 % acknowledged writes) at 64 in flight, against echo at the same concurrency.
#   bench/mixed_bench.sh [seconds per run] [rounds]
# Builds Release into build/release (MIXED_BENCH_BUILD to reuse another build), starts
# dorset-echo and the three services (plaintext, auth none, rate limit off; the storage engine
# from DORSET_BENCH_DATABASE, bench/lib/common.sh), prepares their stores (national epraccur,
# Dorset localities and list sizes; the seed plan; an open survey with three themes), then for
# each round runs echo at 64 in flight and the mix at 64 in flight (dorset-loadgen --mix, 4
# connections per service). Prints per-method p50/p99 and the whole system's calls/s and p99
# against echo's (median over the rounds). Targets (issue 16): >= 0.4x echo's calls/s and
# p99 <= 3x echo's p99.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
rounds=${2:-3}
build=${MIXED_BENCH_BUILD:-build/release}
if [[ -z "${MIXED_BENCH_BUILD:-}" ]]; then
  source scripts/lib/configure.sh
  configure_build "$build" -DCMAKE_BUILD_TYPE=Release
  nice cmake --build "$build" -j "$(nproc)" --target dorset-echo dorset-loadgen dorset-registry \
    dorset-finance dorset-engagement dorsetctl >/dev/null
fi
source bench/lib/common.sh
# MIXED_BENCH_PORT moves the four gRPC ports (and the ops ports 100 above) off another run's.
echo_port=${MIXED_BENCH_PORT:-$((50859 + port_offset))}
registry_port=$((echo_port + 1))
finance_port=$((echo_port + 2))
engagement_port=$((echo_port + 3))

"$build/bench/dorset-echo" "${common[@]}" --grpc_listen=127.0.0.1:$echo_port \
  --ops_listen=127.0.0.1:$((echo_port + 100)) --data_dir="$tmp/echo" &
pids+=($!)
for svc in registry finance engagement; do
  port_var=${svc}_port
  port=${!port_var}
  database_flags $svc
  "$build/services/$svc/dorset-$svc" "${common[@]}" --grpc_listen=127.0.0.1:$port \
    --ops_listen=127.0.0.1:$((port + 100)) --data_dir="$tmp/$svc" "${db[@]}" &
  pids+=($!)
done
for port in $echo_port $registry_port $finance_port $engagement_port; do wait_ready $((port + 100)); done
echo "== storage engine: $database; preparing the stores"
rctl() { "$build/cli/dorsetctl" registry "$@" --target=127.0.0.1:$registry_port >/dev/null; }
rctl import-epraccur data/ods/epraccur-2025-05.csv --commissioner=all
rctl import-localities data/dorset/localities.csv data/dorset/practice-localities.csv
rctl import-list-sizes data/ods/gp-reg-pat-prac-all-2021-01.csv
ectl() { "$build/cli/dorsetctl" engagement "$@" --target=127.0.0.1:$engagement_port >/dev/null; }
ectl create-activity --id=mixed --kind=SURVEY --title="[SYNTHETIC] mixed workload survey"
for theme in access cost staffing; do ectl create-theme mixed --id=$theme --display_name="$theme"; done
ectl open mixed

# The mix: name, weight, target, method, request (dorset-loadgen --mix). Reads 90, writes 10.
registry=127.0.0.1:$registry_port
finance=127.0.0.1:$finance_port
engagement=127.0.0.1:$engagement_port
rs=/dorset.registry.v1.RegistryService
fs=/dorset.finance.v1.FinanceService
es=/dorset.engagement.v1.EngagementService
scheme=$posting_scheme
mix=$tmp/mix.tsv
{
  printf 'GetPractice\t25\t%s\t%s\t%s\n' $registry $rs/GetPractice '{"name":"practices/J81002"}'
  printf 'ListPractices\t10\t%s\t%s\t%s\n' $registry $rs/ListPractices \
    '{"locality":"localities/north-bournemouth","pageSize":50}'
  printf 'GetScheme\t15\t%s\t%s\t%s\n' $finance $fs/GetScheme "{\"name\":\"$scheme\"}"
  printf 'GetReport\t10\t%s\t%s\t%s\n' $finance $fs/GetReport \
    "$report_request_json"
  printf 'GetActivity\t15\t%s\t%s\t%s\n' $engagement $es/GetActivity '{"name":"activities/mixed"}'
  printf 'GetActivityAggregates\t15\t%s\t%s\t%s\n' $engagement $es/GetActivityAggregates \
    '{"name":"activities/mixed/aggregates"}'
  printf 'CreatePosting\t5\t%s\t%s\t%s\n' $finance $fs/CreatePosting \
    "$(posting_request_json "mixed-" mixed)"
  printf 'CreateResponse\t5\t%s\t%s\t%s\n' $engagement $es/CreateResponse \
    '{"parent":"activities/mixed","requestId":"mixed-{{seq}}","response":{"channel":"CHANNEL_ONLINE","sentiment":"SENTIMENT_OPPOSED","text":"[SYNTHETIC] mixed response {{seq}}","themes":["activities/mixed/themes/access"],"locality":"localities/mixed-{{slot}}"}}'
} >"$mix"
echo "== the mix"
cut -f1,2,4 "$mix" | column -t

# The writers' group commits from the ops ports (deltas over the rounds): groups, jobs per group,
# lingers and the jobs they caught (runtime/storage/group_commit.h; bench/README.md session 15).
groups() {
  for port in $finance_port $engagement_port; do curl -s "http://127.0.0.1:$((port + 100))/metrics"; done |
    grep -E '^((finance_ledger_group_requests|engagement_response_batch_size)_(count|sum)|[a-z_]+_linger)' ||
    true
}
# CPU time (user + system, clock ticks) of each service over the rounds, from /proc.
service_pids=("${pids[@]:1:3}")
cpu() { for pid in "${service_pids[@]}"; do awk '{print $14 + $15}' "/proc/$pid/stat"; done | paste -sd' '; }
groups_before=$(groups)
cpu_before=$(cpu)
loadgen() { "$build/bench/dorset-loadgen" --duration_s="$seconds" --json --concurrency=64 --channels=4 "$@"; }
echo_runs=()
mix_runs=()
for round in $(seq 1 "$rounds"); do
  echo "== round $round: echo, 64 in flight (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  echo_runs+=("$(loadgen --target=127.0.0.1:$echo_port --method=/dorset.bench.v1.EchoService/Echo \
    --request_json='{"message":"ping"}')")
  echo "${echo_runs[-1]}"
  echo "== round $round: the mix, 64 in flight"
  mix_runs+=("$(loadgen --mix="$mix")")
  echo "${mix_runs[-1]}"
done
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
cpu_after=$(cpu)
python3 - "$cpu_before" "$cpu_after" "$(getconf CLK_TCK)" "$seconds" "${mix_runs[@]}" <<'PY'
import json, sys
before, after = [list(map(int, a.split())) for a in sys.argv[1:3]]
tick, seconds = int(sys.argv[3]), float(sys.argv[4])
mixes = [json.loads(a) for a in sys.argv[5:]]
calls = {"registry": 0.0, "finance": 0.0, "engagement": 0.0}
service = {"GetPractice": "registry", "ListPractices": "registry", "GetScheme": "finance",
           "GetReport": "finance", "CreatePosting": "finance", "GetActivity": "engagement",
           "GetActivityAggregates": "engagement", "CreateResponse": "engagement"}
for m in mixes:
    for x in m["methods"]:
        calls[service[x["name"]]] += x["qps"] * seconds
for (name, n), b, a in zip(calls.items(), before, after):
    ms = (a - b) * 1000.0 / tick
    print(f"== {name}: CPU {ms:.0f} ms over the rounds (incl. echo's runs, idle), "
          f"{ms * 1000 / n if n else 0:.1f} us per call of its {n:.0f}")
PY
python3 - "$groups_before" "$(groups)" <<'PY'
import sys
def parse(text):
    return {l.split()[0]: float(l.split()[1]) for l in text.splitlines() if l.strip()}
before, after = parse(sys.argv[1]), parse(sys.argv[2])
d = lambda k: after.get(k, 0) - before.get(k, 0)
for name, hist, lingers in (("finance postings", "finance_ledger_group_requests",
                             "finance_ledger_group_linger"),
                            ("engagement responses", "engagement_response_batch_size",
                             "engagement_response_batch_linger")):
    groups, jobs = d(hist + "_count"), d(hist + "_sum")
    print(f"== {name}: {jobs:.0f} in {groups:.0f} groups = {jobs / groups if groups else 0:.2f} a group; "
          f"lingers {d(lingers + 's_total'):.0f}, jobs caught {d(lingers + '_caught_total'):.0f}")
PY

python3 - "$database" "${#echo_runs[@]}" "${echo_runs[@]}" "${mix_runs[@]}" <<'PY'
import json, statistics, sys
database, n = sys.argv[1], int(sys.argv[2])
echoes = [json.loads(a) for a in sys.argv[3:3 + n]]
mixes = [json.loads(a) for a in sys.argv[3 + n:3 + 2 * n]]
med = statistics.median
print(f"== summary ({database}, 64 in flight, median of {n} rounds)")
print("| method | weight | calls/s | p50 ms | p99 ms | errors |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
for i, m in enumerate(mixes[0]["methods"]):
    runs = [x["methods"][i] for x in mixes]
    print(f"| {m['name']} | {m['weight']:g} | {med(r['qps'] for r in runs):.0f} | "
          f"{med(r['p50_ms'] for r in runs):.2f} | {med(r['p99_ms'] for r in runs):.2f} | "
          f"{sum(r['errors'] for r in runs)} |")
ratios = [m["qps"] / e["qps"] for e, m in zip(echoes, mixes) if e["qps"]]
p99s = [m["p99_ms"] / e["p99_ms"] for e, m in zip(echoes, mixes) if e["p99_ms"]]
for i, (e, m) in enumerate(zip(echoes, mixes), 1):
    print(f"round {i}: echo {e['qps']:.0f}/s p99 {e['p99_ms']:.2f} ms; mix {m['qps']:.0f}/s "
          f"p99 {m['p99_ms']:.2f} ms; ratio {m['qps'] / e['qps']:.3f}; errors {m['errors']}")
print(f"whole system: {med(m['qps'] for m in mixes):.0f} calls/s = {med(ratios):.3f}x echo "
      f"(target >= 0.4); p99 {med(m['p99_ms'] for m in mixes):.2f} ms = {med(p99s):.2f}x echo's "
      f"p99 {med(e['p99_ms'] for e in echoes):.2f} ms (target <= 3)")
errors = {}
for m in mixes:
    for x in m["methods"]:
        for code, k in x["error_codes"].items():
            errors[f"{x['name']} {code}"] = errors.get(f"{x['name']} {code}", 0) + k
if errors:
    print("WARNING: errors " + ", ".join(f"{k}: {v}" for k, v in errors.items()))
PY
