#!/usr/bin/env bash
# Builds a protobuf image (a FileDescriptorSet with imports and source info) of every contract in
# protos/, the input `buf lint` and `buf breaking` read: buf's registry is not reachable here, so
# buf does not resolve imports itself; protoc does, from the same include path as the C++ build
# (protos/, Debian's googleapis copy for google/api/annotations.proto and http.proto, and
# protobuf's own well-known types).
#   scripts/lib/contracts-image.sh <output .binpb> [protoc]
set -euo pipefail
out=${1:?usage: contracts-image.sh <output .binpb> [protoc]}
protoc=${2:-protoc}
root="$(cd "$(dirname "$0")/../.." && pwd)"
googleapis=/usr/share/gocode/src/github.com/grpc-ecosystem/grpc-gateway/third_party/googleapis

cd "$root/protos"
mapfile -t files < <(find dorset google -name '*.proto' | sort)
includes=(-I. -I"$googleapis")
"$protoc" --include_imports --include_source_info "${includes[@]}" -o "$out" "${files[@]}"
