#!/usr/bin/env bash
# dorset-console as a real process: refuses bad settings with exit 2 (and a missing design
# system with exit 1) naming the reason, serves /livez and a page with its security headers with
# the services not running (a page that needs one is a 503 page, not a crash), answers a path
# outside the assets with 404, and exits 0 on SIGTERM.
#   console_process_test.sh <build dir> <source dir>
set -euo pipefail
build=$1
src=$2
bin=$build/console/dorset-console
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
expect_exit() {  # expect_exit <code> <message> <args...>
  local want=$1 message=$2
  shift 2
  set +e
  "$bin" "$@" >"$tmp/out" 2>&1
  local rc=$?
  set -e
  [ "$rc" = "$want" ] || fail "$*: exit $rc, want $want"
  grep -q -- "$message" "$tmp/out" || fail "$*: message $(cat "$tmp/out")"
}
targets=(--registry_target=127.0.0.1:1 --finance_target=127.0.0.1:1 --engagement_target=127.0.0.1:1)
expect_exit 2 "are required" --plaintext=true
expect_exit 2 "no TLS" "${targets[@]}"
expect_exit 2 "unknown setting --nope" --nope=1
expect_exit 2 "bad value for --respond_burst" "${targets[@]}" --plaintext=true --respond_burst=0
expect_exit 2 "cannot read" "${targets[@]}" --plaintext=true --service_token_file="$tmp/missing"
expect_exit 1 "no nhsuk-frontend.min.css" "${targets[@]}" --plaintext=true --assets_dir="$tmp"
"$bin" --help | grep -q "respond_per_minute" || fail "--help does not list the settings"
echo "ok: bad settings refused with their reason"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" "${targets[@]}" --plaintext=true --http_listen="127.0.0.1:$port" \
  --assets_dir="$src/node_modules/nhsuk-frontend/dist/nhsuk" >"$tmp/log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$port/livez" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fs "http://127.0.0.1:$port/livez" | grep -q ok || fail "/livez"
code=$(curl -s -o "$tmp/page" -D "$tmp/headers" -w '%{http_code}' "http://127.0.0.1:$port/consultations")
[ "$code" = 503 ] || fail "/consultations without the services: $code, want 503"
grep -q "problem with the service" "$tmp/page" || fail "no 503 page: $(head -c 300 "$tmp/page")"
grep -qi "^content-security-policy: .*frame-ancestors 'none'" "$tmp/headers" || fail "no CSP on an error page"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/assets/..%2F..%2Fpackage.json")
[ "$code" = 404 ] || fail "a path out of the assets: $code, want 404"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/assets/nhsuk-frontend.min.css")
[ "$code" = 200 ] || fail "the design system's CSS: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/staff/ops")
[ "$code" = 303 ] || fail "a staff page without a login: $code, want 303"
echo "ok: serves pages, 503 page without the services, assets confined"
kill -TERM "$pid"
set +e
wait "$pid"
rc=$?
set -e
pid=
[ "$rc" = 0 ] || fail "SIGTERM: exit $rc"
echo "ok: SIGTERM exits 0"
