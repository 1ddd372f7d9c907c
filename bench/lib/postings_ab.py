# The summary of bench/postings_ab.sh: one line per run (round, name, server CPU ticks, /proc/stat
# before and after, postings per group, the load generator's JSON), then the medians.
import json, os, sys, statistics
hz = os.sysconf("SC_CLK_TCK"); secs = float(sys.argv[1])
rows = {}
for line in sys.stdin:
    p = line.split(" ", 10)
    r, name, ticks = int(p[0]), p[1], int(p[2])
    t0, i0, st0, t1, i1, st1 = map(int, p[3:9]); gs = p[9]; j = json.loads(p[10])
    tot = t1 - t0
    cpu_us = ticks / hz * 1e6 / max(1.0, j["qps"] * (secs + 1))
    idle, steal = 100*(i1-i0)/tot, 100*(st1-st0)/tot
    rows.setdefault(r, {})[name] = (j["qps"], j["p99_ms"], j["errors"], cpu_us, idle, steal)
    print(f"round {r} {name:4s} {j['qps']:8.0f}/s p99 {j['p99_ms']:.2f} ms err {j['errors']} cpu {cpu_us:.0f} us/call idle {idle:.1f}% steal {steal:.1f}%" + (f" group {gs}" if name != "echo" else ""), flush=True)
ro = [rows[r]["old"][0]/rows[r]["echo"][0] for r in rows]; rn = [rows[r]["new"][0]/rows[r]["echo"][0] for r in rows]
pairs = [rows[r]["new"][0]/rows[r]["old"][0] for r in rows]
print(f"median ratio to echo: old {statistics.median(ro):.3f}x new {statistics.median(rn):.3f}x; new/old per round: " + " ".join(f"{x:.3f}" for x in pairs) + f" (median {statistics.median(pairs):.3f})")
print("cpu us/call median: old %.0f new %.0f echo %.0f" % tuple(statistics.median(rows[r][n][3] for r in rows) for n in ("old","new","echo")))
