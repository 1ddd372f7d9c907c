#!/usr/bin/env bash
# Summarises a `podman build` log for scripts/test-images (sourced there and by tests/deploy).
# A build whose layers all come from podman's cache prints no RUN output at all, so nothing here may depend on a
# line the build printed: under `set -o pipefail` a grep that matches nothing would end the calling script
# (the second run of scripts/test-images used to exit 1 right after a cached build for exactly that reason).

# build_summary LOG: "N build steps, M from cache" for the log; always exits 0, also for a missing or empty log.
build_summary() {
  local log=$1 steps=0 cached=0
  if [[ -r $log ]]; then
    steps=$(grep -Ec '^(\[[0-9]+/[0-9]+\] )?STEP [0-9]' "$log" || true)
    cached=$(grep -c '^--> Using cache' "$log" || true)
  fi
  printf '%s build steps, %s from cache\n' "${steps:-0}" "${cached:-0}"
}
