"""Turn gate-bench's and treemem.py's JSON lines into RESULTS.md tables.

    python3 report.py gate1.jsonl gate2.jsonl ... demo.jsonl

Per repeat, the gate's overhead is p50(gate) - p50(direct) (and the same at p99); the
tables show the median over the repeats.
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


def ms(us):
    return "—" if us is None else f"{us / 1000:.3f} ms"


def main():
    gate_runs = [load(p) for p in sys.argv[1:] if "demo" not in p]
    demo = [r for p in sys.argv[1:] if "demo" in p for r in load(p)]
    out = []
    p = out.append

    def fig(run, case, variant, key):
        for r in run:
            if r.get("kind") == "gate" and r["case"] == case and r["variant"] == variant:
                return r[key]
        return None

    def figure(case, variant, key):
        return med([fig(run, case, variant, key) for run in gate_runs])

    def diff(case, a, b, key):
        """Median over repeats of (a - b) at one percentile."""
        xs = []
        for run in gate_runs:
            x, y = fig(run, case, a, key), fig(run, case, b, key)
            if x is not None and y is not None:
                xs.append(x - y)
        return med(xs)

    loads = []
    for i, run in enumerate(gate_runs, 1):
        b = next((r["loadavg"] for r in run if r.get("kind") == "load_before"), "?")
        a = next((r["loadavg"] for r in run if r.get("kind") == "load_after"), "?")
        loads.append(f"repeat {i}: {b} → {a}")
    n = next((r["n"] for r in gate_runs[0] if r.get("kind") == "gate"), "?")
    p(f"Repeats: {len(gate_runs)}, {n} timed calls per case and variant in each; every figure is "
      "the median over the repeats of that repeat's percentile. Load average (1, 5, 15 min) "
      "before → after each repeat: " + "; ".join(loads) + ".\n")

    cases = [(r["case"], r["what"]) for r in gate_runs[0] if r.get("kind") == "case"]
    for key, label in (("p50_us", "p50"), ("p99_us", "p99")):
        p(f"### Gate overhead per call, {label}\n")
        p("*direct*: the same call straight through the gateway (MCP round trip over stdio + the "
          "simulated API). *gate*: `Gate::handle`. *Overhead* = gate − direct. Before it executes a "
          "mutating call the gate dry-runs it to get its Impact; *gate's own work* = overhead − "
          "that dry run timed directly (audit writes, policy, bookkeeping). A call made with "
          "`dry_run: true` is answered by the gate's dry run alone.\n")
        p(f"| call | direct | its dry run, direct | gate, disk store | **overhead, disk** | gate's own work, disk "
          f"| gate, memory store | **overhead, memory** | gate's own work, memory |")
        p("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for case, what in cases:
            dry = figure(case, "direct_dry_run", key)
            own = {}
            for v in ("gate_disk", "gate_memory"):
                own[v] = (diff(case, v, "direct", key) - dry) if dry is not None else diff(case, v, "direct", key)
            p(f"| {what} | {ms(figure(case, 'direct', key))} | {ms(dry) if dry is not None else '(none)'} "
              f"| {ms(figure(case, 'gate_disk', key))} | **{ms(diff(case, 'gate_disk', 'direct', key))}** "
              f"| {ms(own['gate_disk'])} "
              f"| {ms(figure(case, 'gate_memory', key))} | **{ms(diff(case, 'gate_memory', 'direct', key))}** "
              f"| {ms(own['gate_memory'])} |")
        p("")
    p("Parts, timed on their own:\n")
    p("| part | p50 | p99 |")
    p("|---|---:|---:|")
    for case, variant, what in [
        ("mcp_roundtrip_no_backend", "direct", "one MCP round trip over stdio that never reaches the API (describe_pod without arguments, refused by the server)"),
        ("policy_read", "evaluate", "one policy evaluation, read-only call (list_pods)"),
        ("policy_write", "evaluate", "one policy evaluation, write with its impact (patch_hpa)"),
    ]:
        p(f"| {what} | {ms(figure(case, variant, 'p50_us'))} | {ms(figure(case, variant, 'p99_us'))} |")
    p("")

    runs = [r for r in demo if r.get("kind") == "demo"]
    if runs:
        b = next((r["loadavg"] for r in demo if r.get("kind") == "load_before"), "?")
        a = next((r["loadavg"] for r in demo if r.get("kind") == "load_after"), "?")
        p("### `sopilot demo`\n")
        p(f"{len(runs)} runs, one after another (load {b} → {a}). Peak memory: GNU time's maximum RSS "
          "(the largest single process), and the largest sum of RSS over `sopilot` and the MCP "
          "servers it starts, sampled every 20 ms.\n")
        p("| | median | min | max |")
        p("|---|---:|---:|---:|")
        for key, what, conv in [
            ("wall_s", "wall time", lambda x: f"{x:.2f} s"),
            ("user_s", "CPU user time (whole tree)", lambda x: f"{x:.2f} s"),
            ("sys_s", "CPU system time (whole tree)", lambda x: f"{x:.2f} s"),
            ("max_rss_kib", "max RSS, largest process", lambda x: f"{x / 1024:.1f} MiB"),
            ("peak_tree_rss_kib", "peak RSS, sopilot + its servers", lambda x: f"{x / 1024:.1f} MiB"),
        ]:
            xs = [r[key] for r in runs]
            p(f"| {what} | {conv(statistics.median(xs))} | {conv(min(xs))} | {conv(max(xs))} |")
        codes = sorted({r["exit"] for r in runs})
        p(f"\nExit codes: {codes}.\n")
    print("\n".join(out))


if __name__ == "__main__":
    main()
