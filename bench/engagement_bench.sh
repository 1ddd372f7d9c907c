#!/usr/bin/env bash
# Engagement scenario against the echo baseline measured in the same run.
#   bench/engagement_bench.sh [seconds] [synthetic responses]
# Builds Release into build/engagement-release (ENGAGEMENT_BENCH_BUILD to reuse another build),
# starts dorset-echo and dorset-engagement (plaintext, auth none, rate limit off, no registry:
# localities are checked for form only) and runs dorset-loadgen:
#   1. echo at 32 in flight                                  -> baseline QPS
#   2. CreateResponse at 32 in flight (each acknowledged response committed, synchronous=FULL,
#      group commit)                                         -> responses/s, ratio (target >= 0.2)
#      then checks the activity's total covers every acknowledged call (nothing lost)
#   3. dorset-engagement-synth bulk-loads N SYNTHETIC responses (default 1,000,000) into a second
#      store; GetActivityAggregates on that activity at 1 and 8 in flight -> p99 (target <= 100 ms)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
synthetic=${2:-1000000}
build=${ENGAGEMENT_BENCH_BUILD:-build/engagement-release}
if [[ -z "${ENGAGEMENT_BENCH_BUILD:-}" ]]; then
  if [[ -f scripts/lib/configure.sh ]]; then
    source scripts/lib/configure.sh
    configure_build "$build" -DCMAKE_BUILD_TYPE=Release
  else
    cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
fi
nice cmake --build "$build" -j "$(nproc)" --target dorset-echo dorset-engagement \
  dorset-engagement-synth dorset-loadgen dorsetctl >/dev/null
source bench/lib/common.sh
echo_port=$((50359 + port_offset))
eng_port=$((50360 + port_offset))
big_port=$((50361 + port_offset))
start_engagement() {  # start_engagement <grpc port> <data dir> <store>
  database_flags "$3"
  "$build/services/engagement/dorset-engagement" "${common[@]}" --grpc_listen=127.0.0.1:$1 \
    --ops_listen=127.0.0.1:$(($1 + 100)) --data_dir="$2" "${db[@]}" &
  pids+=($!)
  wait_ready $(($1 + 100))
}
loadgen() { "$build/bench/dorset-loadgen" --duration_s="$seconds" --json "$@"; }
ctl() { "$build/cli/dorsetctl" engagement "$@" --target=127.0.0.1:$eng_port >/dev/null; }

"$build/bench/dorset-echo" "${common[@]}" --grpc_listen=127.0.0.1:$echo_port \
  --ops_listen=127.0.0.1:$((echo_port + 100)) --data_dir="$tmp/echo" &
pids+=($!)
wait_ready $((echo_port + 100))
echo "== storage engine: $database"
start_engagement $eng_port "$tmp/engagement" engagement

ctl create-activity --id=bench --kind=SURVEY --title="[SYNTHETIC] bench survey"
for theme in access cost staffing; do ctl create-theme bench --id=$theme --display_name="$theme"; done
ctl open bench

echo "== echo, 32 in flight"
echo_json=$(loadgen --target=127.0.0.1:$echo_port --method=/dorset.bench.v1.EchoService/Echo \
  --request_json='{"message":"ping"}' --concurrency=32 --channels=4)
echo "$echo_json"

# PostgreSQL's committed and rolled-back transactions of the store ("commits|rollbacks"): a rollback
# is a serialization failure retried (or given up), where a write's time can go.
pg_tx() {
  [ "$database" = postgres ] || return 0
  pg_psql -d postgres -Atc "SELECT xact_commit || '|' || xact_rollback FROM pg_stat_database WHERE datname = 'dorset_engagement'"
}
tx_before=$(pg_tx)
echo "== CreateResponse, 32 in flight (acknowledged = committed; group commit)"
create_json=$(loadgen --target=127.0.0.1:$eng_port \
  --method=/dorset.engagement.v1.EngagementService/CreateResponse \
  --request_json='{"parent":"activities/bench","requestId":"bench-'"$request_id_hole"'","response":{"channel":"CHANNEL_ONLINE","sentiment":"SENTIMENT_OPPOSED","text":"[SYNTHETIC] bench response {{seq}}","themes":["activities/bench/themes/access","activities/bench/themes/cost"],"locality":"localities/bench-{{slot}}"}}' \
  --concurrency=32 --channels=4)
echo "$create_json"
if [ "$database" = postgres ]; then
  sleep 1  # backends report their transaction counts at most once a second
  echo "PostgreSQL dorset_engagement during CreateResponse: $(awk -v a="$tx_before" -v b="$(pg_tx)" 'BEGIN {
    split(a, x, "|"); split(b, y, "|"); printf "%d commits, %d rollbacks", y[1] - x[1], y[2] - x[2]}')"
fi
total=$("$build/cli/dorsetctl" engagement aggregates bench --target=127.0.0.1:$eng_port |
  python3 -c 'import json,sys; print(json.load(sys.stdin).get("totalResponses", 0))')

echo "== bulk-loading $synthetic SYNTHETIC responses"
database_flags engagement_big
"$build/services/engagement/dorset-engagement-synth" --data_dir="$tmp/big" "${db[@]}" --activity=synthetic-big \
  --count="$synthetic" --themes=8 --seed=7 \
  --localities=localities/bournemouth,localities/poole,localities/christchurch,localities/weymouth,localities/dorchester,localities/bridport,localities/sherborne,localities/blandford
start_engagement $big_port "$tmp/big" engagement_big
agg_request='{"name":"activities/synthetic-big/aggregates"}'
echo "== GetActivityAggregates over $synthetic responses, 1 in flight"
agg1_json=$(loadgen --target=127.0.0.1:$big_port \
  --method=/dorset.engagement.v1.EngagementService/GetActivityAggregates \
  --request_json="$agg_request" --concurrency=1 --channels=1)
echo "$agg1_json"
echo "== GetActivityAggregates over $synthetic responses, 8 in flight"
agg8_json=$(loadgen --target=127.0.0.1:$big_port \
  --method=/dorset.engagement.v1.EngagementService/GetActivityAggregates \
  --request_json="$agg_request" --concurrency=8 --channels=2)
echo "$agg8_json"
big_total=$("$build/cli/dorsetctl" engagement aggregates synthetic-big --target=127.0.0.1:$big_port |
  python3 -c 'import json,sys; print(json.load(sys.stdin).get("totalResponses", 0))')

python3 - "$echo_json" "$create_json" "$agg1_json" "$agg8_json" "$total" "$big_total" <<'PY'
import json, sys
echo, create, agg1, agg8 = (json.loads(a) for a in sys.argv[1:5])
total, big_total = int(sys.argv[5]), int(sys.argv[6])
ratio = create["qps"] / echo["qps"] if echo["qps"] else 0.0
print("== summary")
print(f"echo qps (32 in flight)            {echo['qps']:.0f}")
print(f"responses/s acknowledged (32)      {create['qps']:.0f}  ratio {ratio:.3f}  (target >= 0.2)"
      f"  p99 {create['p99_ms']:.2f} ms  errors {create['errors']}")
# The store also holds the warm-up second's responses, so it must hold at least the measured ones.
print(f"stored responses {total} >= acknowledged in the measured window {create['calls']}"
      f"  ({'ok' if total >= create['calls'] else 'LOST RESPONSES'})")
print(f"aggregates over {big_total} responses  p99 {agg1['p99_ms']:.2f} ms (1 in flight), "
      f"{agg8['p99_ms']:.2f} ms (8 in flight)  (target <= 100 ms)")
PY
