#!/usr/bin/env bash
# Installs the Debian 12 packages the project needs, only those that are missing.
# Used by scripts/run and scripts/test; safe to run again. Uses sudo when not root.
set -euo pipefail

packages=(
  cmake ninja-build g++ pkg-config ccache
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler grpc-proto libabsl-dev
  libhiredis-dev libsqlite3-dev sqlite3 libssl-dev openssl
  libgtest-dev libgmock-dev prometheus-cpp-dev libcpp-httplib-dev libspdlog-dev
  redis-server redis-tools curl python3 python3-yaml
  libpq-dev postgresql-15
)
# Optional extras: the fuzz smoke run needs clang's libFuzzer runtime.
optional=(clang libclang-rt-14-dev)

missing=()
for p in "${packages[@]}" "${optional[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
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
