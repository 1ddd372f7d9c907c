#!/usr/bin/env bash
# Where a SQLite posting group's WAL pages go (issue 16, bench/README.md session 26):
#   bench/wal_frames.sh <build> [warm-up seconds] [window seconds]
# Starts the build's dorset-finance on a fresh SQLite store (plaintext, auth none, rate limit off,
# the seed plan) and drives CreatePosting from dorset-loadgen at 32 in flight on 4 channels, as
# bench/finance_bench.sh does: first for `warm-up` seconds (20) so the b-trees have the size of a
# bench run's, then for `window` seconds (5) while other processes hold a read transaction open on
# finance.db and on the audit trail's audit.db. A reader keeps every checkpoint from copying the
# window's frames, so the WAL cannot restart and keeps each frame the window's commits appended
# (the server's checkpoints still run; they copy nothing). The server is then killed (SIGKILL: the
# WALs stay as they are) and a copy of each file and its -wal is read:
#   - the WAL's frames of its current cycle (salts and checksums checked) after the window began,
#     each a page number, a commit frame ending a transaction (every commit of the window to
#     finance.db is a posting group: nothing else writes it under this load);
#   - each page's b-tree and kind (leaf, internal, overflow) from the dbstat virtual table on the
#     copy with its WAL applied (a page on the freelist at the end is "(freelist/other)");
# and prints, per b-tree: its frames per group (and by kind), its distinct pages over the window,
# the share of transactions that wrote it and its frames per posting; then the bytes a group and a
# posting append to the WAL (a frame is its 24-byte header and the page). audit.db's frames are
# counted per finance.db group too. A b-tree written at its right edge costs about a page per
# group whatever the group's size, plus its splits; one with spread keys, a page per posting.
# WAL_FRAMES_CLIENTS=<n> (1) splits the 32 in flight over n loadgens, each with request ids of its
# own prefix: n insertion points in idempotency_record's key order, as n clients' own sequences
# would make. WAL_FRAMES_KEEP=<dir> keeps the copies there. The build needs dorset-finance and dorset-loadgen;
# nothing is built. Not a rate, but run it on a quiet machine (the helpers' lock), e.g.
#   setsid -w nice -n -19 flock -o /work/wt/bench.lock bench/wal_frames.sh build/release 20 5
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:?usage: bench/wal_frames.sh <build> [warm-up seconds] [window seconds]}" && pwd)
warmup=${2:-20}
window=${3:-5}
export DORSET_BENCH_DATABASE=sqlite
source bench/lib/common.sh
port=$((50961 + port_offset))
mkdir -p "$tmp/finance"
"$build/services/finance/dorset-finance" "${common[@]}" --grpc_listen=127.0.0.1:$port \
  --ops_listen=127.0.0.1:$((port + 100)) --data_dir="$tmp/finance" &
server=$!
pids+=($server)
wait_ready $((port + 100))
dbs=("$tmp/finance/finance.db" "$tmp/finance/audit.db")  # the store and the audit trail
for f in "${dbs[@]}"; do [ -f "$f" ] || { echo "no $f" >&2; ls "$tmp/finance" >&2; exit 1; }; done
clients=${WAL_FRAMES_CLIENTS:-1}
loadgen() {  # 32 in flight: one loadgen on 4 channels, or $clients of 32/$clients each
  if [ "$clients" -eq 1 ]; then
    "$build/bench/dorset-loadgen" --target=127.0.0.1:$port --duration_s="$1" --json \
      --method=/dorset.finance.v1.FinanceService/CreatePosting \
      --request_json="$(posting_request_json "walframes-")" --concurrency=32 --channels=4
    return
  fi
  local i runs=()
  for i in $(seq 1 "$clients"); do
    "$build/bench/dorset-loadgen" --target=127.0.0.1:$port --duration_s="$1" --json \
      --method=/dorset.finance.v1.FinanceService/CreatePosting \
      --request_json="$(posting_request_json "walframes-$i-")" --concurrency=$((32 / clients)) \
      --channels=1 | python3 -c 'import json,sys; print("calls", json.load(sys.stdin)["calls"], end="  ")' &
    runs+=($!)
  done
  wait "${runs[@]}"
}
groups() { curl -sf "http://127.0.0.1:$((port + 100))/metrics" | awk '/^finance_ledger_group_requests_(count|sum)/ {printf "%s ", $2}'; }
echo "== $(date -u '+%F %H:%M:%S UTC') build $build; warm-up ${warmup}s, window ${window}s; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== warm-up: CreatePosting, 32 in flight"
loadgen "$warmup"
echo
# The readers: a read transaction on each file from before the window to after the kill. Each
# writes its file's WAL size and salts at its snapshot (the server is idle between the loadgen
# runs, so nothing commits meanwhile) and, for the store, its highest posting id.
readers=()
for f in "${dbs[@]}"; do
  python3 - "$f" "$f.window" <<'PY' &
import os, sqlite3, sys, time
path = sys.argv[1]
c = sqlite3.connect(path, isolation_level=None)
c.execute("BEGIN")
c.execute("SELECT count(*) FROM sqlite_schema").fetchall()
last = 0
if path.endswith("finance.db"):
    last = c.execute("SELECT COALESCE(MAX(id), 0) FROM posting").fetchone()[0]
wal = path + "-wal"
salts = open(wal, "rb").read(24)[16:24].hex() if os.path.exists(wal) else ""
with open(sys.argv[2] + ".tmp", "w") as out:
    out.write(f"{os.path.getsize(wal) if salts else 0} {salts or '-'} {last}\n")
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
time.sleep(3600)
PY
  readers+=($!)
  pids+=($!)
done
for f in "${dbs[@]}"; do
  for _ in $(seq 1 500); do [ -f "$f.window" ] && break; sleep 0.01; done
done
before=$(groups)
head -1 /proc/stat >"$tmp/stat0"
echo "== window: CreatePosting, 32 in flight, readers holding the WALs"
loadgen "$window"
echo
head -1 /proc/stat >"$tmp/stat1"
after=$(groups)
machine_share "$tmp/stat0" "$tmp/stat1"
kill -KILL "$server"
wait "$server" 2>/dev/null || true
mkdir -p "$tmp/copy"
for f in "${dbs[@]}"; do cp "$f" "$f-wal" "$f.window" "$tmp/copy/"; done
for r in "${readers[@]}"; do kill "$r"; done
if [ -n "${WAL_FRAMES_KEEP:-}" ]; then cp "$tmp/copy/"* "$WAL_FRAMES_KEEP/"; fi
python3 - "$tmp/copy" $before $after <<'PY'
import collections, sqlite3, struct, sys
copy = sys.argv[1]
g0, s0, g1, s1 = map(float, sys.argv[2:6])


def checksum(order, data, s1, s2):
    words = struct.unpack(f"{order}{len(data) // 4}I", data)
    for i in range(0, len(words), 2):
        s1 = (s1 + words[i] + s2) & 0xFFFFFFFF
        s2 = (s2 + words[i + 1] + s1) & 0xFFFFFFFF
    return s1, s2


def window_transactions(path):
    """The transactions the window committed to `path`: lists of page numbers; and the frame size."""
    wal_before, salts_before, last = open(path + ".window").read().split()
    wal = open(path + "-wal", "rb").read()
    magic, version, page_size, seq, salt1, salt2, c1, c2 = struct.unpack(">8I", wal[:32])
    assert magic in (0x377F0682, 0x377F0683), hex(magic)
    order = "<" if magic == 0x377F0682 else ">"  # the checksums' word order
    s = checksum(order, wal[:24], 0, 0)
    assert s == (c1, c2), "WAL header checksum"
    frame = 24 + page_size
    # The WAL restarted after the window began (the reader read the database file alone): all
    # of this cycle is the window's.
    start = int(wal_before) if wal[16:24].hex() == salts_before else 0
    txs, cur, off, valid = [], [], 32, 0
    while off + frame <= len(wal):  # the frames of this cycle: its salts, checksums that chain
        pg, size, fs1, fs2, fc1, fc2 = struct.unpack(">6I", wal[off:off + 24])
        if (fs1, fs2) != (salt1, salt2):
            break
        s = checksum(order, wal[off:off + 8], *s)
        s = checksum(order, wal[off + 24:off + frame], *s)
        if s != (fc1, fc2):
            break
        valid += 1
        if off >= start:
            cur.append(pg)
        if size and cur:  # a commit frame ends a transaction
            txs.append(cur)
            cur = []
        off += frame
    print(f"== {path.rsplit('/', 1)[1]}: WAL {len(wal)} bytes, {valid} valid frames of "
          f"{page_size} bytes; {len(txs)} transactions in the window")
    return txs, frame, int(last)


def owners(path):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)  # applies the copied WAL
    return db, {p: (n, t) for n, p, t in db.execute("SELECT name, pageno, pagetype FROM dbstat")}


def table(path, txs, frame, groups, postings):
    db, owner = owners(path)
    per = collections.defaultdict(collections.Counter)
    pages = collections.defaultdict(set)
    touched = collections.Counter()
    for t in txs:
        seen = set()
        for pg in t:
            name, kind = owner.get(pg, ("(freelist/other)", "-"))
            per[name][kind] += 1
            pages[name].add(pg)
            seen.add(name)
        touched.update(seen)
    print(f"  {'b-tree':26} {'frames/group':>12} {'leaf':>6} {'internal':>8} {'overflow':>8} "
          f"{'pages':>6} {'tx':>5} {'frames/posting':>14}")
    total = 0
    for name, c in sorted(per.items(), key=lambda kv: -sum(kv[1].values())):
        f = sum(c.values())
        total += f
        print(f"  {name:26} {f / groups:12.2f} {c['leaf'] / groups:6.2f} "
              f"{c['internal'] / groups:8.2f} {c['overflow'] / groups:8.2f} {len(pages[name]):6d} "
              f"{100 * touched[name] / max(len(txs), 1):4.0f}% {f / postings:14.3f}")
    print(f"  {'all':26} {total / groups:12.2f} {'':40} {total / postings:14.3f}")
    print(f"  bytes to the WAL: {total * frame / groups:.0f} per group, "
          f"{total * frame / postings:.0f} per posting ({frame} a frame)")
    return db


store = f"{copy}/finance.db"
txs, frame, last = window_transactions(store)
db, _ = owners(store)
postings = db.execute("SELECT MAX(id) FROM posting").fetchone()[0] - last
groups = len(txs)  # every commit to finance.db in the window is a posting group
print(f"   {postings} postings in {groups} groups, {postings / groups:.2f} a group (the server "
      f"counted {g1 - g0:.0f} groups of {(s1 - s0) / max(g1 - g0, 1):.2f} requests); "
      f"{db.execute('SELECT COUNT(*) FROM posting').fetchone()[0]} postings in the store")
table(store, txs, frame, groups, postings)
trail = f"{copy}/audit.db"
atxs, aframe, _ = window_transactions(trail)
print(f"   per posting group of finance.db ({len(atxs)} transactions of the trail's writer):")
table(trail, atxs, aframe, groups, postings)
PY
