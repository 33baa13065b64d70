"""Turn replicas.sh's summary.json files into one side-by-side table: a column per
configuration (sqlite x1, postgres x1, x2, x3), the median over repeats in each cell, and the
p99 as a ratio to the SQLite single process.

    python3 report_replicas.py DIR/*/summary.json
"""

import json
import statistics
import sys


def main():
    runs = [json.load(open(p)) for p in sys.argv[1:]]
    order = []
    for r in sorted(runs, key=lambda r: (r["backend"] != "sqlite", r["replicas"])):
        if r["config"] not in order:
            order.append(r["config"])
    by = {c: [r for r in runs if r["config"] == c] for c in order}
    repeats = max(len(v) for v in by.values())
    out = []
    p = out.append
    p(f"Each cell: the median of {repeats} repeat(s).\n" if repeats > 1 else "")
    p("| | " + " | ".join(f"`{c}`" for c in order) + " |")
    p("|---|" + "---:|" * len(order))

    def med(c, get):
        xs = [get(r) for r in by[c]]
        return statistics.median(xs) if all(isinstance(x, (int, float)) for x in xs) else xs[0]

    def row(what, get, fmt=str):
        p(f"| {what} | " + " | ".join(fmt(med(c, get)) for c in order) + " |")

    ms = lambda x: f"{x:.2f} ms"
    lat = lambda k: (lambda r: r["load"]["latency_from_due"][k])
    row("notifications sent", lambda r: r["load"]["sent"])
    row("achieved rate (sent / sending time)", lambda r: r["load"]["sent"] / r["load"]["send_seconds"], lambda x: f"{x:.0f}/s")
    row("answered `started` or `joined` per second", lambda r: r["load"]["answered_started_or_joined"] / r["load"]["send_seconds"], lambda x: f"{x:.0f}/s")
    row("**lost** (no 200 started/joined)", lambda r: r["load"]["lost"])
    row("groups started twice or more", lambda r: r["load"]["groups_started_twice"])
    row("repeats that joined another group's run", lambda r: r["load"]["groups_joined_wrong_run"])
    row("**exact dedup** (answers)", lambda r: "yes" if r["load"]["exact_dedup"] else "NO")
    row("runs in the store / distinct groups", lambda r: f"{r['store_runs']} / {r['load']['distinct_groups']}")
    row("intake latency p50 (from due)", lat("p50_ms"), ms)
    row("intake latency p90", lat("p90_ms"), ms)
    row("**intake latency p99**", lat("p99_ms"), ms)
    row("intake latency p99.9", lat("p999_ms"), ms)
    row("intake latency max", lat("max_ms"), ms)
    base = by[order[0]]
    b99 = statistics.median(r["load"]["latency_from_due"]["p99_ms"] for r in base)
    row(f"p99 / `{order[0]}`'s", lambda r: r["load"]["latency_from_due"]["p99_ms"] / b99, lambda x: f"{x:.2f}×")
    row("requests the client sent > 5 ms late", lambda r: r["load"]["late_starts_over_5ms"])
    row("peak RSS of a replica (VmHWM)", lambda r: r["peak_rss_kib"], lambda x: f"{x / 1024:.1f} MiB")
    row("time for queued runs to finish after the load", lambda r: r["drain_s"], lambda x: f"{x:.1f} s")
    row("load average before → after", lambda r: f"{r['load_before']} → {r['load_after']}")
    p("")
    errs = {}
    for r in runs:
        for k, v in r["load"]["errors"].items():
            errs[(r["config"], k)] = errs.get((r["config"], k), 0) + v
    if errs:
        p("Errors seen by the client:\n")
        for (c, k), v in sorted(errs.items(), key=lambda kv: -kv[1])[:10]:
            p(f"- `{c}`: {v} × `{k}`")
        p("")
    print("\n".join(out))


if __name__ == "__main__":
    main()
