#!/usr/bin/env bash
# dorset-gateway as a real process: refuses bad settings with exit 2, serves /livez, /openapi.json,
# /docs and a google.rpc.Status for an unknown path, and exits 0 on SIGTERM with its port freed.
#   gateway_process_test.sh <build dir>
set -euo pipefail
build=$1
bin=$build/gateway/dorset-gateway
tmp=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  [ -f "$tmp/log" ] && cat "$tmp/log" >&2
  exit 1
}

# Bad settings: a clear message and exit 2, before listening anywhere.
set +e
"$bin" --plaintext=true >"$tmp/out" 2>&1
rc=$?
set -e
[ "$rc" = 2 ] || fail "no target: exit $rc, want 2"
grep -q "no service to expose" "$tmp/out" || fail "no target: message $(cat "$tmp/out")"
set +e
"$bin" --registry_target=127.0.0.1:1 >"$tmp/out" 2>&1
rc=$?
set -e
[ "$rc" = 2 ] || fail "neither TLS nor plaintext: exit $rc, want 2"
grep -q "plaintext" "$tmp/out" || fail "no TLS: message $(cat "$tmp/out")"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DORSET_HTTP_LISTEN=127.0.0.1:$port DORSET_PLAINTEXT=true \
  "$bin" --registry_target=127.0.0.1:1 --finance_target=127.0.0.1:1 --engagement_target=127.0.0.1:1 \
  >"$tmp/log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  grep -qs '"msg":"dorset-gateway listening"' "$tmp/log" && break
  kill -0 "$pid" 2>/dev/null || fail "exited before listening"
  sleep 0.1
done
grep -q "\"port\":$port" "$tmp/log" || fail "does not report its port"
base=http://127.0.0.1:$port
[ "$(curl -s "$base/livez")" = ok ] || fail "/livez"
curl -s "$base/openapi.json" | python3 -c '
import json, sys
doc = json.load(sys.stdin)
assert doc["openapi"] == "3.1.0", doc.get("openapi")
assert "paths" in doc and doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
' || fail "/openapi.json is not an OpenAPI 3.1 document"
curl -s "$base/docs" | grep -q '/openapi.json' || fail "/docs"
code=$(curl -s -o "$tmp/body" -w '%{http_code}' "$base/v1/nowhere")
[ "$code" = 404 ] || fail "unknown path: HTTP $code"
python3 -c '
import json, sys
status = json.load(open(sys.argv[1]))
assert status["code"] == 5 and status["details"][0]["reason"] == "HTTP_ROUTE_NOT_FOUND", status
' "$tmp/body" || fail "unknown path: body $(cat "$tmp/body")"

kill -TERM "$pid"
set +e
wait "$pid"
rc=$?
set -e
pid=
[ "$rc" = 0 ] || fail "SIGTERM: exit $rc, want 0"
if curl -s -o /dev/null "$base/livez"; then fail "port $port still answers after exit"; fi
echo "ok: dorset-gateway process"
