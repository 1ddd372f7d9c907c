#!/usr/bin/env bash
# Cheap checks of scripts/test-images' host side, run in the normal suite (the image test itself is too slow):
# - the build-log summary it prints after `podman build` exits 0 under `set -euo pipefail` for a fresh build's log,
#   a fully cached build's log (no RUN output at all) and an empty or missing log (a grep that matched nothing
#   used to end the script with exit 1 on every second run);
# - scripts/lib/install-deps.sh installs what a fresh Debian 12 host lacks for it: podman, runc, the netavark
#   network backend with aardvark-dns (container names resolve) and iptables, catatonit (`podman kube play`),
#   debootstrap; and deploy/podman/containers.conf selects that backend;
# - scripts/test-images installs through install-deps.sh and summarises the build with build_summary.
# Usage: test_images_host_test.sh SOURCE_DIR
set -euo pipefail

src=${1:?usage: $0 SOURCE_DIR}
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# shellcheck source=../../scripts/lib/image-build-summary.sh
source "$src/scripts/lib/image-build-summary.sh"

cat >"$tmp/fresh.log" <<'LOG'
[1/2] STEP 1/7: FROM localhost/dorset-base:bookworm AS build
[1/2] STEP 2/7: ARG BUILD_JOBS=2
--> 1a2b3c4d5e6f
STEP 1/3: FROM localhost/dorset-base:bookworm AS runtime
runtime packages:
libabsl20220623
[2/2] COMMIT localhost/dorset-digital:test
LOG
# What podman 4.3 prints when every layer comes from its cache (excerpt of a real second run): STEP lines and
# "--> Using cache", no RUN output, so no "runtime packages:" line.
cat >"$tmp/cached.log" <<'LOG'
[1/2] STEP 1/8: FROM localhost/dorset-base:bookworm AS build
[1/2] STEP 2/8: ARG BUILD_JOBS=2
--> Using cache 7c945aeb93c91b0c444ed9b0d2eea0c64a655947701cba48f2eaab1a7b57eed0
--> 7c945aeb93c
[2/2] STEP 1/11: FROM localhost/dorset-base:bookworm AS runtime
[2/2] STEP 2/11: ARG RUNTIME_TOOLS="sqlite3"
--> Using cache 59a2362b6a4d0d1c2b3a49588f7e6a5d4c3b2a1908f7e6d5c4b3a291807f6e5d
--> 59a2362b6a4
[2/2] COMMIT localhost/dorset-digital:test
--> 7d5009a3dd1
Successfully tagged localhost/dorset-digital:test
LOG
: >"$tmp/empty.log"

check_summary() { # check_summary LOG EXPECTED
  local out
  if out=$(set -euo pipefail; build_summary "$1"); then
    [[ $out == "$2" ]] || fail "build_summary $(basename "$1"): '$out', wanted '$2'"
  else
    fail "build_summary $(basename "$1") exited non-zero under pipefail"
  fi
}
check_summary "$tmp/fresh.log" "3 build steps, 0 from cache"
check_summary "$tmp/cached.log" "4 build steps, 2 from cache"
check_summary "$tmp/empty.log" "0 build steps, 0 from cache"
check_summary "$tmp/missing.log" "0 build steps, 0 from cache"

# The script as a whole: with set -e active in a caller, a failing summary would stop it; prove it does not.
if ! bash -c 'set -euo pipefail; source "$1"; build_summary "$2" >/dev/null; echo reached' _ \
  "$src/scripts/lib/image-build-summary.sh" "$tmp/cached.log" | grep -q reached; then
  fail "a script under set -euo pipefail stops at build_summary of a cached build's log"
fi

pkgs=$("$src/scripts/lib/install-deps.sh" --list images)
for p in podman runc netavark aardvark-dns iptables catatonit debootstrap curl python3-yaml; do
  grep -qx "$p" <<<"$pkgs" || fail "install-deps.sh images does not install $p"
done
# The build set stays free of podman: scripts/test must not pull a container engine onto every build host.
grep -qx podman <<<"$("$src/scripts/lib/install-deps.sh" --list)" && fail "install-deps.sh (build set) lists podman"

grep -Eq '^network_backend *= *"netavark"' "$src/deploy/podman/containers.conf" ||
  fail "deploy/podman/containers.conf does not select the netavark network backend"

script="$src/scripts/test-images"
grep -q 'scripts/lib/install-deps.sh" images' "$script" ||
  fail "scripts/test-images does not install via install-deps.sh images"
grep -q 'build_summary /var/tmp/dorset-image-build.log' "$script" ||
  fail "scripts/test-images does not use build_summary"
# No pipeline may parse the build's output (a cached build has none): the log is only read by build_summary.
if grep -n 'dorset-image-build.log' "$script" |
  grep -v 'build_summary\|>/var/tmp/dorset-image-build.log\|tail -30\|log:' | grep -q '|\|sed\|grep'; then
  fail "scripts/test-images parses the build log outside build_summary"
fi

if ((fails)); then echo "$fails check(s) failed"; exit 1; fi
echo "all checks passed"
