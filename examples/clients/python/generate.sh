#!/usr/bin/env bash
# Generates Python gRPC stubs for every Dorset Digital contract (docs/clients.md).
#   examples/clients/python/generate.sh <out dir> [<protos dir>]
# Uses Debian's protoc (protobuf-compiler, 3.21) with grpc_python_plugin (protobuf-compiler-grpc), not
# python3-grpc-tools: its bundled protoc 3.12 cannot compile proto3 `optional`, which our contracts use.
# The health protocol (grpc.health.v1) is generated as the Python package `dorset_grpc_health`: generated
# under its own path `grpc/health/v1` it would create a `grpc` package that shadows grpcio itself.
set -euo pipefail
out=${1:?usage: generate.sh <out dir> [<protos dir>]}
here=$(cd "$(dirname "$0")" && pwd)
protos=$(cd "${2:-$here/../../../protos}" && pwd)
googleapis=/usr/share/gocode/src/github.com/grpc-ecosystem/grpc-gateway/third_party/googleapis
grpc_proto=/usr/share/grpc-proto  # Debian's grpc-proto package
plugin=$(command -v grpc_python_plugin) || { echo "grpc_python_plugin missing: apt install protobuf-compiler-grpc" >&2; exit 1; }
mkdir -p "$out"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/dorset_grpc_health/v1"
health=$(find "$grpc_proto" /usr/include -path '*grpc/health/v1/health.proto' -print -quit 2>/dev/null || true)
[ -n "$health" ] || { echo "grpc/health/v1/health.proto missing: apt install grpc-proto" >&2; exit 1; }
cp "$health" "$stage/dorset_grpc_health/v1/health.proto"

# Our contracts, our own google/api and google/rpc files, and the google/api files they import from
# Debian's grpc-gateway package (annotations.proto, http.proto).
mapfile -t ours < <(cd "$protos" && find dorset google -name '*.proto' | sort)
extra=()
for f in google/api/annotations.proto google/api/http.proto; do
  if [ ! -f "$protos/$f" ] && grep -rqs "import \"$f\"" "$protos" "$googleapis/google/api" 2>/dev/null; then
    [ -f "$googleapis/$f" ] || { echo "$f missing: apt install golang-github-grpc-ecosystem-grpc-gateway-dev" >&2; exit 1; }
    extra+=("$f")
  fi
done
includes=(-I "$protos" -I /usr/include)
[ ${#extra[@]} -gt 0 ] && includes+=(-I "$googleapis")

protoc "${includes[@]}" --python_out="$out" --grpc_out="$out" --plugin=protoc-gen-grpc="$plugin" \
  "${ours[@]}" "${extra[@]}"
protoc -I "$stage" --python_out="$out" --grpc_out="$out" --plugin=protoc-gen-grpc="$plugin" \
  dorset_grpc_health/v1/health.proto
echo "generated Python stubs in $out"
