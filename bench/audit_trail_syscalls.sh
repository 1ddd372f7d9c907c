#!/usr/bin/env bash
# The audit trail's own sync stream on SQLite (issue 16, session 15): syscalls per group commit of
# dorset-finance under CreatePosting, by syscall and file, counted by strace.
#   bench/audit_trail_syscalls.sh <build dir> [postings] [in flight] [channels]
# Starts the build's dorset-finance on a fresh store (SQLite), warms up with 500 postings, then
# traces the whole process (`strace -f -y`) for <postings> more (default 2000) at <in flight>
# (default 2; channels default: 2, or 4 from 32 in flight). A group commit is counted as one
# fdatasync of finance.db-wal (the store syncs once a group). Environment variables pass through
# to the server, e.g. DORSET_AUDIT_TRAIL_SYNC=each for the trail synced at every write.
# strace slows the server down many times over: read the counts, not the speed.
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:?usage: bench/audit_trail_syscalls.sh <build dir> [postings] [in flight] [channels]}" && pwd)
calls=${2:-2000}
concurrency=${3:-2}
channels=${4:-$([ "$concurrency" -ge 32 ] && echo 4 || echo 2)}
source bench/lib/common.sh
port=$((50480 + port_offset))
mkdir -p "$tmp/finance"
"$build/services/finance/dorset-finance" "${common[@]}" --grpc_listen=127.0.0.1:$port \
  --ops_listen=127.0.0.1:$((port + 100)) --data_dir="$tmp/finance" &
pid=$!
pids+=("$pid")
wait_ready $((port + 100))
posting="$(posting_request_json "bench-")"
loadgen() {
  "$build/bench/dorset-loadgen" --target=127.0.0.1:$port --json \
    --method=/dorset.finance.v1.FinanceService/CreatePosting --request_json="$posting" \
    --concurrency="$concurrency" --channels="$channels" --duration_s=600 "$@"
}
echo "== $(date -u '+%F %H:%M UTC'), build $build, $calls postings at $concurrency in flight, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== env: DORSET_AUDIT_TRAIL_SYNC=${DORSET_AUDIT_TRAIL_SYNC:-unset}"
loadgen --calls=500 >/dev/null
strace -f -y -qq -e trace=fdatasync,fsync,pwrite64,pread64,fcntl,futex -o "$tmp/trace" -p "$pid" &
tracer=$!
sleep 1
loadgen --calls="$calls" >"$tmp/run.json"
sleep 0.5
kill -INT "$tracer"
wait "$tracer" 2>/dev/null || true
python3 - "$tmp/trace" "$calls" <<'EOF'
import collections, re, sys
counts = collections.Counter()
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"\s*\d+\s+(\w+)\((\d+)(<([^>]*)>)?", line)
    if not m or "resumed" in line:
        continue
    name, path = m.group(1), m.group(4) or ""
    path = path.rsplit("/", 1)[-1] if path else ""
    if name == "futex":
        path = ""
    counts[(name, path)] += 1
groups = counts[("fdatasync", "finance.db-wal")]
calls = int(sys.argv[2])
print(f"groups (fdatasync of finance.db-wal): {groups}, postings a group: {calls / max(groups, 1):.2f}")
print(f"{'syscall':10s} {'file':20s} {'count':>8s} {'a group':>8s} {'a posting':>9s}")
for (name, path), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
    print(f"{name:10s} {path:20s} {n:8d} {n / max(groups, 1):8.3f} {n / calls:9.3f}")
EOF
