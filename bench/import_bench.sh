#!/usr/bin/env bash
# The national epraccur import into an empty store, builds alternating in every round (issue 16).
#   bench/import_bench.sh [rounds]
# IMPORT_BENCH_BUILDS: Release build directories separated by spaces (default build/release, built
# here); IMPORT_BENCH_CTL: the dorsetctl that sends the file (default the first build's).
# Per round and build: a fresh store (a SQLite file, or with DORSET_BENCH_DATABASE=postgres a
# database of its own on the run's PostgreSQL), dorset-registry started and ready, then
# `dorsetctl registry import-epraccur data/ods/epraccur-2025-05.csv --commissioner=all` timed from
# before dorsetctl starts to its exit (wall), the registry's CPU time over the same span
# (/proc/<pid>/stat utime + stime) and its RSS before, at peak (VmHWM, reset before the import)
# and after. Prints every run and the medians per build. Targets (issue 16): <= 1 s on SQLite;
# peak memory a constant, whatever the file's size.
# Fair to every build: the order of the builds is reversed in every other round, and each import
# starts after a `sync`. Without both, the second import of a round ran ~145 ms slower, writing
# while the kernel still wrote back the first's pages (bench/README.md, session 19).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
builds=(${IMPORT_BENCH_BUILDS:-build/release})
if [[ -z "${IMPORT_BENCH_BUILDS:-}" ]]; then
  source scripts/lib/configure.sh
  configure_build build/release -DCMAKE_BUILD_TYPE=Release
  nice cmake --build build/release -j "$(nproc)" --target dorset-registry dorsetctl >/dev/null
fi
ctl=${IMPORT_BENCH_CTL:-${builds[0]}/cli/dorsetctl}
source bench/lib/common.sh
port=${IMPORT_BENCH_PORT:-$((50659 + port_offset))}  # DORSET_BENCH_PORT_OFFSET moves it (common.sh)
echo "== storage engine: $database; builds: ${builds[*]}"
kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
results=()
for round in $(seq 1 "$rounds"); do
  order=("${!builds[@]}")
  if ((round % 2 == 0)); then
    for ((i = 0, j = ${#order[@]} - 1; i < j; i++, j--)); do
      t=${order[i]} order[i]=${order[j]} order[j]=$t
    done
  fi
  for b in "${order[@]}"; do
    build=${builds[$b]}
    database_flags "import_${round}_${b}"
    sync  # the last import's pages written back before this one is timed
    "$build/services/registry/dorset-registry" "${common[@]}" --grpc_listen=127.0.0.1:$port \
      --ops_listen=127.0.0.1:$((port + 100)) --data_dir="$tmp/registry-$round-$b" "${db[@]}" &
    pid=$!
    pids+=("$pid")
    wait_ready $((port + 100))
    echo 5 >"/proc/$pid/clear_refs"  # VmHWM from here
    rss0=$(kib "$pid" VmRSS)
    cpu0=$(ticks "$pid")
    start=$(date +%s%N)
    "$ctl" registry import-epraccur data/ods/epraccur-2025-05.csv --commissioner=all \
      --target=127.0.0.1:$port >"$tmp/out" || { cat "$tmp/out"; exit 1; }
    end=$(date +%s%N)
    cpu1=$(ticks "$pid")
    line="$b wall_ms=$(((end - start) / 1000000)) cpu_ms=$(((cpu1 - cpu0) * 1000 / hz))"
    line+=" rss_before_kib=$rss0 peak_kib=$(kib "$pid" VmHWM) rss_after_kib=$(kib "$pid" VmRSS)"
    echo "round $round build $build: ${line#* } $(grep -o 'added [0-9]*' "$tmp/out")," \
      "load $(cut -d' ' -f1 /proc/loadavg)"
    results+=("$line")
    kill "$pid"
    wait "$pid" 2>/dev/null || true
  done
done
printf '%s\n' "${results[@]}" >"$tmp/results"
python3 - "$tmp/results" "${builds[@]}" <<'PY'
import statistics, sys
builds = sys.argv[2:]
runs = {}
for line in open(sys.argv[1]):
    b, *pairs = line.split()
    runs.setdefault(int(b), []).append({k: int(v) for k, v in (p.split("=") for p in pairs)})
print("== medians per build")
for b, rs in sorted(runs.items()):
    def m(k):
        return statistics.median(r[k] for r in rs)
    walls = ", ".join(str(r["wall_ms"]) for r in rs)
    print(f"{builds[b]}: wall {m('wall_ms'):.0f} ms (target <= 1000 on SQLite; runs {walls}), "
          f"registry CPU {m('cpu_ms'):.0f} ms, peak RSS +{(m('peak_kib') - m('rss_before_kib')) / 1024:.1f} MiB, "
          f"after +{(m('rss_after_kib') - m('rss_before_kib')) / 1024:.1f} MiB")
PY
