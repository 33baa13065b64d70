"""Turn the serve-load repeats' summary.json files into RESULTS.md tables.

    python3 report.py repeat1/summary.json repeat2/summary.json ...
"""

import json
import statistics
import sys


def main():
    reps = [json.load(open(p)) for p in sys.argv[1:]]
    out = []
    p = out.append
    cols = [f"repeat {i}" for i in range(1, len(reps) + 1)]
    p("| | " + " | ".join(cols) + " | median |")
    p("|---|" + "---:|" * (len(cols) + 1))

    def row(what, get, fmt=lambda x: f"{x}", median=True):
        xs = [get(r) for r in reps]
        m = fmt(statistics.median(xs)) if median and all(isinstance(x, (int, float)) for x in xs) else ""
        p(f"| {what} | " + " | ".join(fmt(x) for x in xs) + f" | {m} |")

    f1 = lambda x: f"{x:.1f}"
    f2 = lambda x: f"{x:.2f} ms"
    mib = lambda x: f"{x / 1024:.1f} MiB"
    row("load average before (1, 5, 15 min)", lambda r: r["load_before"], median=False)
    row("load average after", lambda r: r["load_after"], median=False)
    row("notifications sent", lambda r: r["load"]["sent"])
    row("achieved rate (sent / sending time)", lambda r: r["load"]["sent"] / r["load"]["send_seconds"], lambda x: f"{x:.0f}/s")
    row("distinct alert groups", lambda r: r["load"]["distinct_groups"])
    row("answered `started`", lambda r: r["load"]["by_status"].get("started", 0))
    row("answered `joined`", lambda r: r["load"]["by_status"].get("joined", 0))
    row("**lost** (no 200 started/joined)", lambda r: r["load"]["lost"])
    row("groups started exactly once", lambda r: r["load"]["groups_started_once"])
    row("groups started twice or more", lambda r: r["load"]["groups_started_twice"])
    row("repeats that joined another group's run", lambda r: r["load"]["groups_joined_wrong_run"])
    row("**exact dedup** (answers)", lambda r: "yes" if r["load"]["exact_dedup"] else "NO", median=False)
    row("runs in the store / distinct group keys", lambda r: f"{r['store_runs']} / {r['store_distinct_group_keys']}", median=False)
    row("repeat notes on run timelines (store)", lambda r: r["store_repeat_notes"])
    row("runs by status (store)", lambda r: ", ".join(f"{k} {v}" for k, v in r["store_runs_by_status"].items()), median=False)
    row("intake latency p50 (from due)", lambda r: r["load"]["latency_from_due"]["p50_ms"], f2)
    row("intake latency p90", lambda r: r["load"]["latency_from_due"]["p90_ms"], f2)
    row("**intake latency p99**", lambda r: r["load"]["latency_from_due"]["p99_ms"], f2)
    row("intake latency p99.9", lambda r: r["load"]["latency_from_due"]["p999_ms"], f2)
    row("intake latency max", lambda r: r["load"]["latency_from_due"]["max_ms"], f2)
    row("p99, `started` answers only", lambda r: r["load"]["latency_started"]["p99_ms"], f2)
    row("p99, `joined` answers only", lambda r: r["load"]["latency_joined"]["p99_ms"], f2)
    row("p99 from the actual send (not from due)", lambda r: r["load"]["latency_from_send"]["p99_ms"], f2)
    row("requests the client sent > 5 ms late", lambda r: r["load"]["late_starts_over_5ms"])
    row("server RSS idle (before the load)", lambda r: r["idle_rss_kib"], mib)
    row("**server peak RSS** (VmHWM, after the runs drained)", lambda r: r["peak_rss_kib"], mib)
    row("mcp-kubectl child peak RSS", lambda r: r["children_peak_rss_kib"], mib)
    row("time for queued runs to finish after the load", lambda r: r["drain_s"], lambda x: f"{x:.1f} s")
    p("")
    errs = {}
    for r in reps:
        for k, v in r["load"]["errors"].items():
            errs[k] = errs.get(k, 0) + v
    if errs:
        p("Errors seen by the client (all repeats):\n")
        for k, v in sorted(errs.items(), key=lambda kv: -kv[1])[:10]:
            p(f"- {v} × `{k}`")
        p("")
    print("\n".join(out))


if __name__ == "__main__":
    main()
