"""Prints the benchmark table from the JSON lines of forecast_bench and
python_bench.py: median fit + forecast time, MAPE per lead, and how many times
faster sopilot-forecast is. Standard library only.

Usage: report.py RESULTS.jsonl
"""

import json
import sys

LEADS = ["30 min", "1 h", "2 h", "6 h"]


def main():
    rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip().startswith("{")]
    ours = next((r for r in rows if r.get("name") == "sopilot-forecast"), None)
    head = "| implementation | model | runs | median fit + forecast |"
    head += "".join(f" MAPE {lead} |" for lead in LEADS) + " sopilot-forecast is faster by |"
    print(head)
    print("|---|---|---:|---:|" + "---:|" * (len(LEADS) + 1))
    for r in rows:
        if "error" in r:
            print(f"| {r['name']} | not run: {r['error']} |" + " |" * (len(LEADS) + 3))
            continue
        ratio = "—" if r is ours or ours is None else f"{r['median_ms'] / ours['median_ms']:.0f}×"
        mapes = "".join(f" {m:.2f} % |" for m in r["mape"])
        print(f"| {r['name']} | {r['model']} | {r['runs']} | {r['median_ms']:.1f} ms |{mapes} {ratio} |")


if __name__ == "__main__":
    main()
