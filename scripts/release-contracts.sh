#!/usr/bin/env bash
# Refreshes protos/released/contracts.binpb, the image `buf breaking` compares the contracts with
# (docs/contracts.md). Run only when a release is cut. Refuses a release that breaks callers of
# the previous one unless --allow-breaking (a new major version) says it is meant.
#   scripts/release-contracts.sh [--allow-breaking]
set -euo pipefail
cd "$(dirname "$0")/.."
allow_breaking=
if [ "${1:-}" = --allow-breaking ]; then allow_breaking=1; fi

buf=node_modules/.bin/buf
[ -x "$buf" ] || { echo "buf is missing: run scripts/lib/install-deps.sh" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
scripts/lib/contracts-image.sh "$tmp/protoc.binpb"
"$buf" lint "$tmp/protoc.binpb" --config protos/buf.yaml
released=protos/released/contracts.binpb
if [ -f "$released" ] && [ -z "$allow_breaking" ]; then
  "$buf" breaking "$tmp/protoc.binpb" --against "$released" --config protos/buf.yaml
fi
mkdir -p protos/released
"$buf" build "$tmp/protoc.binpb" --exclude-source-info -o "$released"
echo "wrote $released ($(stat -c %s "$released") bytes); commit it with the release"
