#!/usr/bin/env bash
# The whole system as scripts/run starts it - redis-server and the three service binaries as
# real processes with token authentication - driven through one story with dorsetctl:
#   1. import Dorset's practices, localities and list sizes into the registry;
#   2. post a finance actual, read the month's report and the per-head figures (which come from
#      the registry through its client and the shared cache);
#   3. open a consultation, respond from a practice's locality, publish a decision;
#   4. kill Redis (SIGKILL) and check every service keeps answering;
#   5. stop everything with SIGTERM and check each exits 0.
# Usage: whole_system_test.sh <build dir> <source dir>
set -euo pipefail
build=$1
src=$2
tmp=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'fail "unexpected error at line $LINENO"' ERR
fail() { trap - ERR; echo "FAIL: $*" >&2; for f in "$tmp"/*.log; do echo "--- $f" >&2; tail -20 "$f" >&2; done; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ctl() { "$build/cli/dorsetctl" "$@"; }

# Credentials as scripts/run makes them: hashes only in the tokens file.
# One principal per service calling the registry, so each has its own rate limit.
admin=$(openssl rand -hex 16)
finance_token=$(openssl rand -hex 16)
engagement_token=$(openssl rand -hex 16)
printf '%s' "$finance_token" > "$tmp/finance.token"
printf '%s' "$engagement_token" > "$tmp/engagement.token"
{
  echo "$(printf '%s' "$admin" | sha256sum | cut -d' ' -f1) story-admin admin"
  echo "$(printf '%s' "$finance_token" | sha256sum | cut -d' ' -f1) story-finance registry-reader"
  echo "$(printf '%s' "$engagement_token" | sha256sum | cut -d' ' -f1) story-engagement registry-reader"
} > "$tmp/tokens"
export DORSETCTL_TOKEN=$admin

# Ports are picked free and then bound by the processes, so another test running at the same
# time can take one in between: a start that fails to bind picks new ports and starts again.
declare -A grpc ops pid_of
start() {
  local svc=$1
  shift
  "$build/services/$svc/dorset-$svc" --grpc_listen="127.0.0.1:${grpc[$svc]}" \
    --ops_listen="127.0.0.1:${ops[$svc]}" --data_dir="$tmp/$svc" --redis="127.0.0.1:$redis_port" \
    --tokens_file="$tmp/tokens" --plaintext=true --drain_seconds=1 "$@" >"$tmp/$svc.log" 2>&1 &
  pid_of[$svc]=$!
  pids+=(${pid_of[$svc]})
}
health() {
  ctl health --registry="127.0.0.1:${grpc[registry]}" --registry_ops="127.0.0.1:${ops[registry]}" \
    --finance="127.0.0.1:${grpc[finance]}" --finance_ops="127.0.0.1:${ops[finance]}" \
    --engagement="127.0.0.1:${grpc[engagement]}" --engagement_ops="127.0.0.1:${ops[engagement]}"
}
ready=0
for attempt in 1 2 3; do
  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$tmp" --save "" --appendonly no \
    --logfile "$tmp/redis.log" &
  redis_pid=$!
  pids+=($redis_pid)
  for svc in registry finance engagement; do grpc[$svc]=$(free_port); ops[$svc]=$(free_port); done
  start registry
  start finance --registry_target="127.0.0.1:${grpc[registry]}" --service_token_file="$tmp/finance.token"
  start engagement --registry_target="127.0.0.1:${grpc[registry]}" --service_token_file="$tmp/engagement.token"
  for _ in $(seq 1 150); do
    if health >/dev/null 2>&1; then ready=1; break; fi
    sleep 0.2
  done
  [ $ready = 1 ] && break
  grep -qs -e "cannot bind" -e "Address already in use" "$tmp"/*.log || break
  echo "a port was taken by another process (attempt $attempt): starting again on new ports"
  for pid in $redis_pid "${pid_of[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait "$redis_pid" "${pid_of[@]}" 2>/dev/null || true
  rm -f "$tmp"/*.log
done
[ $ready = 1 ] || fail "services did not become ready"
echo "ok: all three services ready"
# The client's own settings (the servers read DORSET_*).
export DORSETCTL_REGISTRY=127.0.0.1:${grpc[registry]}
export DORSETCTL_FINANCE=127.0.0.1:${grpc[finance]}
export DORSETCTL_ENGAGEMENT=127.0.0.1:${grpc[engagement]}

# 1. Registry: the Dorset data, exactly as scripts/run loads it.
ctl registry import-localities "$src/data/dorset/localities.csv" "$src/data/dorset/practice-localities.csv" >"$tmp/out" || fail "import-localities"
ctl registry import-epraccur "$src/data/ods/epraccur-2025-05.csv" --commissioner=11J >"$tmp/out" || fail "import-epraccur"
ctl registry import-list-sizes "$src/data/ods/gp-reg-pat-prac-all-2021-01.csv" >"$tmp/out" || fail "import-list-sizes"
ctl registry summary >"$tmp/summary" || fail "summary"
grep -q "810033\|810,033" "$tmp/summary" || fail "registered population is not 810,033: $(cat "$tmp/summary")"
echo "ok: registry loaded (810,033 registered patients)"
ctl registry list --locality=poole-central --page_size=1 >"$tmp/list" 2>/dev/null || fail "list"
code=$(awk 'NR == 1 { print $1 }' "$tmp/list")
practice=practices/$code
[[ "$code" =~ ^[A-Z][A-Z0-9]{4,5}$ ]] || fail "no practice in Poole Central: $(cat "$tmp/list")"

# 2. Finance: an actual for RightCare in M6 2017-18, the report, and figures per head.
ctl finance schemes >"$tmp/schemes" || fail "schemes"
scheme=$(grep -m1 -oE 'plans/[a-z0-9/-]*rightcare[a-z0-9/-]*' "$tmp/schemes" || true)
[ -n "$scheme" ] || fail "RightCare scheme not found"
ctl finance post --scheme="$scheme" --year=2017-18 --month=6 --kind=actual --amount=1234567.89 \
  --reason="whole-system story" --request_id=story-actual-1 >"$tmp/out" || fail "post"
ctl finance post --scheme="$scheme" --year=2017-18 --month=6 --kind=actual --amount=1234567.89 \
  --reason="whole-system story" --request_id=story-actual-1 >"$tmp/out" || fail "retried post"
ctl finance postings --node="$scheme" --year=2017-18 --kind=actual --csv >"$tmp/postings"
[ "$(grep -c 'story-actual-1' "$tmp/postings")" = 1 ] || fail "the retried posting is not there exactly once"
ctl finance report --year=2017-18 --month=6 --csv >"$tmp/report" || fail "report"
grep -q "1234567.89" "$tmp/report" || fail "the actual is not in the report: $(head -5 "$tmp/report")"
ctl finance per-head --year=2017-18 --csv >"$tmp/perhead" || fail "per-head"
grep -qi "poole" "$tmp/perhead" || fail "per-head figures have no Poole locality: $(cat "$tmp/perhead")"
echo "ok: finance posted once, reported and divided per head"

# 3. Engagement: a consultation, a response from the practice's locality, a published decision.
locality=localities/poole-central
ctl engagement create-activity --id=story --title="Whole-system story" --kind=CONSULTATION \
  --purpose="test" --localities=$locality >"$tmp/out" || fail "create-activity"
ctl engagement create-theme activities/story --id=access --display_name="Access" >"$tmp/out" || fail "create-theme"
ctl engagement open activities/story >"$tmp/out" || fail "open"
ctl engagement respond activities/story --channel=ONLINE --text="More evening appointments" \
  --themes=access --sentiment=SUPPORTIVE --locality=$locality --practice="$practice" \
  --request_id=story-response-1 >"$tmp/out" || fail "respond"
if ctl engagement respond activities/story --channel=ONLINE --locality=localities/atlantis \
    --request_id=story-response-2 >"$tmp/out" 2>&1; then
  fail "a response from an unknown locality was accepted"
fi
ctl engagement close activities/story >"$tmp/out" || fail "close"
ctl engagement create-decision activities/story --summary="Extended hours pilot" \
  --rationale="Most responses asked for it" --themes=access --decided_by="Governing body" \
  --published >"$tmp/out" || fail "create-decision"
ctl engagement publish activities/story --summary="You said, we did" >"$tmp/out" || fail "publish"
ctl engagement you-said-we-did activities/story >"$tmp/ysww" || fail "you-said-we-did"
grep -q "Extended hours pilot" "$tmp/ysww" || fail "decision missing from you-said-we-did"
echo "ok: consultation opened, answered, decided and published"

# 4. Redis dies: every service keeps answering (the cache is fail-open, readiness unaffected).
kill -KILL $redis_pid
sleep 1
ctl registry get "$practice" >/dev/null || fail "registry read without Redis"
ctl finance report --year=2017-18 --month=6 >/dev/null || fail "finance report without Redis"
ctl finance per-head --year=2017-18 >/dev/null || fail "per-head without Redis"
ctl engagement aggregates activities/story >/dev/null || fail "engagement aggregates without Redis"
ctl finance post --scheme="$scheme" --year=2017-18 --month=7 --kind=actual --amount=1.00 \
  --request_id=story-actual-2 >/dev/null || fail "finance write without Redis"
health >"$tmp/health" || fail "not ready without Redis: $(cat "$tmp/health")"
grep -q "degraded" "$tmp/health" || fail "readiness does not say degraded: $(cat "$tmp/health")"
echo "ok: all services answer with Redis down (degraded, still ready)"

# 5. Clean stop.
for svc in registry finance engagement; do kill -TERM "${pid_of[$svc]}"; done
for svc in registry finance engagement; do
  code=0
  wait "${pid_of[$svc]}" || code=$?
  [ $code = 0 ] || fail "$svc exited $code on SIGTERM"
done
echo "ok: all services stopped cleanly"
echo "PASS"
