"""Turn bench.py's JSON lines (one file per repeat) into RESULTS.md tables.

    python3 report.py OURS THEIRS run1.jsonl run2.jsonl ...

Figures are medians over the repeats of each repeat's figure (each repeat is itself a
side-by-side run of both servers); ratios are OURS / THEIRS, so below 1 favours OURS.
"""

import json
import statistics
import sys


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip().startswith("{")]


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, unit="", digits=1):
    if x is None:
        return "—"
    if unit == "B":
        return f"{x:,.0f} B"
    if unit == "MiB":
        return f"{x / 1024:.1f} MiB"
    return f"{x:.{digits}f}{unit}"


def ratio(a, b):
    return "—" if not a or not b else f"{a / b:.2f}×"


def main():
    ours, theirs = sys.argv[1], sys.argv[2]
    runs = [load(p) for p in sys.argv[3:]]
    pick = lambda run, **kw: [r for r in run if all(r.get(k) == v for k, v in kw.items())]
    one = lambda run, **kw: (pick(run, **kw) or [{}])[0]

    loads = []
    for i, run in enumerate(runs, 1):
        b, a = one(run, kind="load_before"), one(run, kind="load_after")
        loads.append(f"repeat {i}: {b.get('loadavg', '?')} → {a.get('loadavg', '?')}")

    out = []
    p = out.append
    p(f"Repeats: {len(runs)} (each runs both servers side by side, interleaved call by call). "
      "Figures are the median over the repeats; ratios are "
      f"{ours} / {theirs} (below 1 favours {ours}).\n")
    p("Load average (1, 5, 15 min) before → after each repeat: " + "; ".join(loads) + ".\n")

    p("### Start and tools\n")
    p(f"| | {ours} | {theirs} | ratio |")
    p("|---|---:|---:|---:|")
    s = {n: med([one(r, kind="start", server=n).get("median_ms") for r in runs]) for n in (ours, theirs)}
    p(f"| process start → tools/list answered (median of {one(runs[0], kind='start', server=ours).get('n', '?')} starts per repeat) "
      f"| {fmt(s[ours], ' ms')} | {fmt(s[theirs], ' ms')} | {ratio(s[ours], s[theirs])} |")
    t = {n: one(runs[0], kind="tools", server=n) for n in (ours, theirs)}
    p(f"| tools listed | {t[ours].get('tools')} | {t[theirs].get('tools')} | |")
    p(f"| tools/list size | {fmt(t[ours].get('tools_list_bytes'), 'B')} | {fmt(t[theirs].get('tools_list_bytes'), 'B')} "
      f"| {ratio(t[ours].get('tools_list_bytes'), t[theirs].get('tools_list_bytes'))} |")
    idle = {n: med([one(r, kind="tools", server=n).get("idle_rss_kib") for r in runs]) for n in (ours, theirs)}
    peak = {n: med([one(r, kind="memory", server=n).get("peak_rss_kib") for r in runs]) for n in (ours, theirs)}
    p(f"| RSS idle (after tools/list) | {fmt(idle[ours], 'MiB')} | {fmt(idle[theirs], 'MiB')} | {ratio(idle[ours], idle[theirs])} |")
    p(f"| peak RSS (VmHWM after all calls) | {fmt(peak[ours], 'MiB')} | {fmt(peak[theirs], 'MiB')} | {ratio(peak[ours], peak[theirs])} |")
    p("")

    p("### Calls\n")
    n = one(runs[0], kind="call").get("n", "?")
    p(f"Latency is the MCP client's round trip (request written → result parsed), {n} calls per server "
      "per repeat. Bytes are the text content a model reads; mcp-kubectl also returns "
      "structured content (shown separately, not counted in the ratio).\n")
    p(f"| call | {ours} tool | p50 {ours} | p50 {theirs} | p50 ratio | p99 {ours} | p99 {theirs} | p99 ratio "
      f"| text bytes {ours} | text bytes {theirs} | bytes ratio | structured bytes {ours} |")
    p("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    calls = []
    for r in runs[0]:
        if r.get("kind") == "call" and r["call"] not in calls:
            calls.append(r["call"])
    for c in calls:
        f = {}
        for nme in (ours, theirs):
            rows = [one(r, kind="call", call=c, server=nme) for r in runs]
            f[nme] = {k: med([x.get(k) for x in rows]) for k in ("p50_ms", "p99_ms", "text_bytes", "structured_bytes")}
            f[nme]["tool"] = rows[0].get("tool")
            f[nme]["err"] = any(x.get("is_error") for x in rows)
        what = one(runs[0], kind="call", call=c, server=ours).get("what", c)
        err = " (error!)" if f[ours]["err"] or f[theirs]["err"] else ""
        p(f"| {what}{err} | `{f[ours]['tool']}` / `{f[theirs]['tool']}` "
          f"| {fmt(f[ours]['p50_ms'], ' ms', 2)} | {fmt(f[theirs]['p50_ms'], ' ms', 2)} | {ratio(f[ours]['p50_ms'], f[theirs]['p50_ms'])} "
          f"| {fmt(f[ours]['p99_ms'], ' ms', 2)} | {fmt(f[theirs]['p99_ms'], ' ms', 2)} | {ratio(f[ours]['p99_ms'], f[theirs]['p99_ms'])} "
          f"| {fmt(f[ours]['text_bytes'], 'B')} | {fmt(f[theirs]['text_bytes'], 'B')} | {ratio(f[ours]['text_bytes'], f[theirs]['text_bytes'])} "
          f"| {fmt(f[ours]['structured_bytes'], 'B')} |")
    p("")

    # Issue 3's goals, from the figures above.
    lp = {nme: med([one(r, kind="call", call="list_pods_namespace", server=nme).get(k) for r in runs])
          for nme in (ours, theirs) for k in ("p50_ms",)}
    lb = {nme: med([one(r, kind="call", call="list_pods_namespace", server=nme).get("text_bytes") for r in runs])
          for nme in (ours, theirs)}
    if s[theirs]:
        p("### Against issue 3's goals\n")
        p("| goal | measured | met |")
        p("|---|---:|---|")
        def goal(what, a, b, limit):
            if not a or not b:
                p(f"| {what} ≤ {limit}× | — | — |")
                return
            r = a / b
            p(f"| {what} ≤ {limit}× | {r:.2f}× | {'yes' if r <= limit else '**no**'} |")
        goal("start → tools/list", s[ours], s[theirs], 0.5)
        goal("latency (p50) listing the pods of a namespace", lp[ours], lp[theirs], 1)
        goal("text bytes listing the pods of a namespace", lb[ours], lb[theirs], 1)
        p("")
    print("\n".join(out))


if __name__ == "__main__":
    main()
