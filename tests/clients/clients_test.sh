#!/usr/bin/env bash
# docs/clients.md, tried for real against a real registry:
#   1. Python: generate the stubs from protos/ with examples/clients/python/generate.sh and call with Debian's
#      grpcio (health, every locality page by page, NOT_FOUND for a missing practice, UNAUTHENTICATED without
#      a token). The stubs must import beside grpcio: the health package is generated as dorset_grpc_health
#      so that it does not shadow grpcio's own `grpc` package.
#   2. Node: examples/clients/node from its lock file (npm ci), loading protos/ with @grpc/proto-loader.
# Usage: clients_test.sh <build dir> <source dir>
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
python=/usr/bin/python3  # Debian's, where python3-grpcio is installed (not a pyenv shim on PATH)
if ! "$python" -c 'import grpc, google.protobuf' 2>/dev/null; then
  echo "python3-grpcio / python3-protobuf missing: scripts/lib/install-deps.sh installs them"
  [ "${CI:-}" = true ] && exit 1
  exit 77
fi
tmp=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { trap - ERR; echo "FAIL: $*" >&2; for f in "$tmp"/*.log "$tmp"/*.out; do [ -f "$f" ] && { echo "--- $f" >&2; tail -20 "$f" >&2; }; done; exit 1; }
trap 'fail "unexpected error at line $LINENO"' ERR
free_port() { "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$src/examples/clients/python/generate.sh" "$tmp/stubs" "$src/protos" >"$tmp/generate.out" 2>&1 || fail "generate.sh"
[ ! -e "$tmp/stubs/grpc" ] || fail "the stubs contain a grpc/ package that would shadow grpcio"
echo "ok: stubs generated"

token=$(openssl rand -hex 16)
echo "$(printf '%s' "$token" | sha256sum | cut -d' ' -f1) python-client admin" >"$tmp/tokens"
ready=0
for attempt in 1 2 3; do
  redis_port=$(free_port) grpc_port=$(free_port) ops_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$tmp" --save "" --appendonly no \
    --logfile "$tmp/redis.log" &
  pids+=($!)
  "$build/services/registry/dorset-registry" --grpc_listen="127.0.0.1:$grpc_port" \
    --ops_listen="127.0.0.1:$ops_port" --data_dir="$tmp/registry" --redis="127.0.0.1:$redis_port" \
    --tokens_file="$tmp/tokens" --plaintext=true --drain_seconds=1 >"$tmp/registry.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 150); do
    if curl -fs "http://127.0.0.1:$ops_port/readyz" >/dev/null 2>&1; then ready=1; break; fi
    sleep 0.2
  done
  [ $ready = 1 ] && break
  grep -qs -e "cannot bind" -e "Address already in use" "$tmp"/*.log || break
  echo "a port was taken by another process (attempt $attempt): starting again on new ports"
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  pids=()
done
[ $ready = 1 ] || fail "the registry did not become ready"

DORSETCTL_TOKEN=$token DORSETCTL_REGISTRY=127.0.0.1:$grpc_port "$build/cli/dorsetctl" registry import-localities \
  "$src/data/dorset/localities.csv" "$src/data/dorset/practice-localities.csv" >"$tmp/import.out" 2>&1 \
  || fail "import-localities"
expected=$(($(wc -l <"$src/data/dorset/localities.csv") - 1))

PYTHONPATH=$tmp/stubs DORSET_TOKEN=$token "$python" "$src/examples/clients/python/registry_example.py" \
  "127.0.0.1:$grpc_port" --expect-localities "$expected" >"$tmp/client.out" 2>&1 || fail "the Python client"
grep -q "^health: SERVING$" "$tmp/client.out" || fail "no SERVING health answer"
grep -q "^localities/poole-central	Poole Central$" "$tmp/client.out" || fail "poole-central not listed"
grep -q "^GetPractice(practices/Z99999): NOT_FOUND" "$tmp/client.out" || fail "no NOT_FOUND for a missing practice"
echo "ok: the Python client listed $expected localities, saw SERVING and NOT_FOUND"

# Without a token the call is refused, and the refusal reaches Python as UNAUTHENTICATED.
PYTHONPATH=$tmp/stubs "$python" - "127.0.0.1:$grpc_port" >"$tmp/anon.out" 2>&1 <<'PY' || fail "anonymous call"
import sys, grpc
from dorset.registry.v1 import registry_pb2, registry_pb2_grpc
with grpc.insecure_channel(sys.argv[1]) as channel:
    try:
        registry_pb2_grpc.RegistryServiceStub(channel).ListLocalities(registry_pb2.ListLocalitiesRequest(), timeout=10)
        sys.exit("anonymous ListLocalities succeeded")
    except grpc.RpcError as error:
        print(error.code().name)
        sys.exit(0 if error.code() == grpc.StatusCode.UNAUTHENTICATED else 1)
PY
echo "ok: an anonymous call is UNAUTHENTICATED"

# Node, from the example's own lock file, as an integrator's project would install it.
if ! command -v npm >/dev/null; then
  echo "npm missing: scripts/lib/install-deps.sh installs it"
  [ "${CI:-}" = true ] && exit 1
  exit 77
fi
cp -r "$src/examples/clients/node" "$tmp/node"
(cd "$tmp/node" && npm ci --ignore-scripts --no-audit --no-fund) >"$tmp/npm.out" 2>&1 || fail "npm ci for the Node example"
DORSET_PROTOS=$src/protos DORSET_TOKEN=$token node "$tmp/node/registry_example.js" "127.0.0.1:$grpc_port" \
  --expect-localities "$expected" >"$tmp/node.out" 2>&1 || fail "the Node client"
grep -q "^localities/poole-central	Poole Central$" "$tmp/node.out" || fail "poole-central not listed by Node"
grep -q "^GetPractice(practices/Z99999): NOT_FOUND" "$tmp/node.out" || fail "no NOT_FOUND in Node"
echo "ok: the Node client listed $expected localities and saw NOT_FOUND"
