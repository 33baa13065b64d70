"""Prints the benchmark tables from the JSON lines of correlate_bench and
python_bench.py: agreement with scipy and numpy (the same lag, r within 1e-9)
and the median time per series length, as ratios. Standard library only.

Usage: report.py RESULTS.jsonl
"""

import json
import statistics
import sys
from collections import defaultdict

OURS = "sopilot-correlate"
PEERS = ["scipy", "numpy-exact"]


def main():
    rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip().startswith("{")]
    by = {(r["impl"], r["case"]): r for r in rows if "impl" in r}
    cases = [r for r in rows if r.get("impl") == OURS]
    errors = [r for r in rows if "error" in r]
    for e in errors:
        print(f"not run: {e['error']}")

    print("| peer | cases | same lag | planted lead found (peer / sopilot) | max Δr lag 0 | max Δr best lag |")
    print("|---|---:|---:|---:|---:|---:|")
    for peer in PEERS:
        pairs = [(c, by.get((peer, c["case"]))) for c in cases]
        pairs = [(c, p) for c, p in pairs if p]
        if not pairs:
            continue
        same = sum(c["lag"] == p["lag"] for c, p in pairs)
        planted_p = sum(p["lag"] == -p["lead"] for _, p in pairs)
        planted_o = sum(c["lag"] == -c["lead"] for c, _ in pairs)
        d0 = max(abs(c["r0"] - p["r0"]) for c, p in pairs)
        dk = max(abs(c["r_lag"] - p["r_lag"]) for c, p in pairs)
        print(f"| {peer} | {len(pairs)} | {same}/{len(pairs)} | {planted_p} / {planted_o} | {d0:.1e} | {dk:.1e} |")

    print()
    head = "| points | sopilot r + lag | sopilot whole rank |"
    head += "".join(f" {p} |" for p in PEERS) + "".join(f" {p} / sopilot |" for p in PEERS)
    print(head)
    print("|---:|---:|---:|" + "---:|" * (2 * len(PEERS)))
    sizes = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if "impl" in r and "median_us" in r:
            sizes[r["n"]][r["impl"]].append(r["median_us"])
            if r["impl"] == OURS:
                sizes[r["n"]]["rank"].append(r["rank_median_us"])
    for n in sorted(sizes):
        med = {k: statistics.median(v) for k, v in sizes[n].items()}
        ours = med.get(OURS)
        cells = [fmt(ours), fmt(med.get("rank"))] + [fmt(med.get(p)) for p in PEERS]
        cells += [f"{med[p] / ours:.1f}×" if p in med and ours else "—" for p in PEERS]
        print(f"| {n} | " + " | ".join(cells) + " |")


def fmt(us):
    if us is None:
        return "—"
    return f"{us / 1000:.2f} ms" if us >= 1000 else f"{us:.1f} µs"


if __name__ == "__main__":
    main()
