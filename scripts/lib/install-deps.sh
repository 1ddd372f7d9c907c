#!/usr/bin/env bash
# Installs the Debian 12 packages the project needs, only those that are missing, and the build set's
# npm packages (package.json / package-lock.json) with `npm ci` when node_modules does not match the
# lock file. Used by scripts/run and scripts/test; safe to run again. Uses sudo when not root.
#   scripts/lib/install-deps.sh           the build, test and run packages
#   scripts/lib/install-deps.sh run       the build set without the PostgreSQL server (scripts/run on SQLite)
#   scripts/lib/install-deps.sh images    only what scripts/test-images needs on the host (podman and friends)
#   scripts/lib/install-deps.sh --list [run|images]   print the package list and exit (tests check it)
set -euo pipefail

list_only=
if [ "${1:-}" = --list ]; then list_only=1; shift; fi
set_name=${1:-build}

packages=(
  cmake ninja-build g++ pkg-config ccache lld
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler grpc-proto libabsl-dev
  libhiredis-dev libsqlite3-dev sqlite3 libssl-dev openssl
  libgtest-dev libgmock-dev prometheus-cpp-dev libcpp-httplib-dev libspdlog-dev
  redis-server redis-tools curl python3 python3-yaml clang-format
  python3-grpcio python3-protobuf
  libpq-dev postgresql-15
  golang-github-grpc-ecosystem-grpc-gateway-dev
  chromium
)
# lld: links the test build's large ASan binaries several times faster than ld.bfd (CMakeLists.txt).
# chromium: the web console's browser tests (headless, driven by playwright-core from npm).
# google/api/annotations.proto and http.proto (the contracts' HTTP bindings) come from
# golang-github-grpc-ecosystem-grpc-gateway-dev (docs/contracts.md).
# Optional extras: the fuzz smoke run needs clang's libFuzzer runtime.
optional=(clang libclang-rt-14-dev)

# scripts/test-images: podman 4.3 (Debian 12) with what a fresh host lacks (see docs/operations.md):
# - runc: crun fails on hybrid cgroup hierarchies (deploy/podman/containers.conf selects runc);
# - netavark + aardvark-dns: the network backend containers.conf selects; aardvark-dns resolves container names
#   and --network-alias names on a user network (the CNI backend without the dnsname plugin resolves nothing);
#   both need iptables for the bridge's NAT rules;
# - catatonit: the pause/init process `podman kube play` runs in each pod's infra container;
# - debootstrap: the base image, since no registry is reachable; curl and python3-yaml for the checks.
# Not installed: kubectl for the `podman kube play` part. Debian 12's kubernetes-client is kubectl 1.20, whose
# kustomize cannot render deploy/overlays (it fails on patchesStrategicMerge); it needs kubectl >= 1.21 from
# elsewhere, and the script says so when it is missing or too old.
if [ "$set_name" = images ]; then
  packages=(podman runc netavark aardvark-dns iptables catatonit debootstrap curl python3-yaml)
  optional=()
elif [ "$set_name" = run ]; then
  # scripts/run on SQLite (its default) needs no database server; libpq-dev still builds the services.
  run_packages=()
  # Nor a browser: chromium is for the console's browser tests.
  for p in "${packages[@]}"; do
    [ "$p" = postgresql-15 ] || [ "$p" = chromium ] || run_packages+=("$p")
  done
  packages=("${run_packages[@]}")
elif [ "$set_name" != build ]; then
  echo "usage: $0 [--list] [run|images]" >&2
  exit 2
fi
if [ -n "$list_only" ]; then
  printf '%s\n' "${packages[@]}" "${optional[@]}"
  exit 0
fi

# The npm packages (package.json / package-lock.json: buf, which lints the contracts and checks them
# for breaking changes; the FHIR R4 schema and its validator for the gateway's tests; nhsuk-frontend,
# which the web console serves; playwright-core and axe-core for its browser tests), with npm ci
# when node_modules is not from this lock file. The run set needs them too (the console's assets).
npm_tools() {
  [ "$set_name" != images ] || return 0
  local root
  root="$(cd "$(dirname "$0")/../.." && pwd)"
  if ! command -v npm >/dev/null 2>&1; then
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends nodejs npm
  fi
  if ! cmp -s "$root/package-lock.json" "$root/node_modules/.dorset-lock"; then
    echo "Installing npm packages (npm ci)"
    (cd "$root" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error &&
      cp package-lock.json node_modules/.dorset-lock)
  fi
}
sudo=()
if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi

missing=()
for p in "${packages[@]}" "${optional[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  npm_tools
  exit 0
fi
echo "Installing missing packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
# Required packages must install; optional ones may be unavailable on a mirror.
required_missing=()
for p in "${missing[@]}"; do
  case " ${optional[*]} " in *" $p "*) ;; *) required_missing+=("$p");; esac
done
if [ ${#required_missing[@]} -gt 0 ]; then
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${required_missing[@]}"
fi
for p in "${optional[@]}"; do
  case " ${missing[*]} " in
    *" $p "*) "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$p" || echo "optional package $p not installed";;
  esac
done
npm_tools
