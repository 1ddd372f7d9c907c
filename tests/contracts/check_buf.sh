#!/usr/bin/env bash
# The contracts check themselves (docs/contracts.md):
#   lint      `buf lint` with protos/buf.yaml (STANDARD minus the two rules the AIPs contradict,
#             plus COMMENTS);
#   breaking  `buf breaking` against the image of the last released contracts
#             (protos/released/contracts.binpb, refreshed only at a release).
# buf comes from npm (package.json, installed by scripts/lib/install-deps.sh with npm ci); buf's
# registry is not reachable, so protoc builds the image buf reads. Missing buf: skip (77), or a
# failure under CI=true.
#   tests/contracts/check_buf.sh <lint|breaking> <source root> [protoc]
set -euo pipefail
mode=${1:?usage: check_buf.sh <lint|breaking> <source root> [protoc]}
root=${2:?usage: check_buf.sh <lint|breaking> <source root> [protoc]}
protoc=${3:-protoc}
cd "$root"

buf=node_modules/.bin/buf
if [ ! -x "$buf" ]; then
  if [ "${CI:-}" = true ]; then
    echo "buf is missing: run scripts/lib/install-deps.sh (npm ci installs @bufbuild/buf)" >&2
    exit 1
  fi
  echo "buf is missing (scripts/lib/install-deps.sh installs it): skipped" >&2
  exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
scripts/lib/contracts-image.sh "$tmp/image.binpb" "$protoc"

case "$mode" in
  lint)
    echo "== buf lint ($("$buf" --version)) with protos/buf.yaml"
    if ! "$buf" lint "$tmp/image.binpb" --config protos/buf.yaml; then
      echo "lint: the findings above break protos/buf.yaml's rules" >&2
      exit 1
    fi
    echo "lint: no findings"
    ;;
  breaking)
    released=protos/released/contracts.binpb
    [ -f "$released" ] || { echo "$released is missing (scripts/release-contracts.sh)" >&2; exit 1; }
    echo "== buf breaking ($("$buf" --version)) against $released"
    if ! "$buf" breaking "$tmp/image.binpb" --against "$released" --config protos/buf.yaml; then
      echo "breaking: the changes above would break callers of the released contracts" >&2
      exit 1
    fi
    echo "breaking: none"
    ;;
  *)
    echo "unknown mode $mode (lint or breaking)" >&2
    exit 2
    ;;
esac
