"""Run a command; print one JSON line with its wall time and memory.

    python3 treemem.py -- COMMAND ARGS...

peak_tree_rss_kib: the largest sum of VmRSS over the command and all its descendants,
sampled every 20 ms through /proc/PID/task/*/children. max_rss_kib: GNU time's "Maximum resident set size" (the largest
single process of the tree).
"""

import json
import os
import subprocess
import sys
import tempfile
import time


def children(pid: int) -> list[int]:
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out.extend(int(c) for c in f.read().split())
    except OSError:
        pass
    return out


def tree_rss(root: int) -> int:
    total, todo = 0, [root]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            continue
        todo.extend(children(p))
    return total


def main() -> None:
    cmd = sys.argv[sys.argv.index("--") + 1:]
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        t0 = time.perf_counter()
        p = subprocess.Popen(["/usr/bin/time", "-v", "-o", tf.name, *cmd],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        peak = 0
        while p.poll() is None:
            peak = max(peak, tree_rss(p.pid))
            time.sleep(0.02)
        wall = time.perf_counter() - t0
        info = {}
        for line in open(tf.name):
            k, _, v = line.strip().rpartition(": ")
            info[k] = v
    print(json.dumps({"kind": "demo", "exit": p.returncode, "wall_s": wall,
                      "max_rss_kib": int(info.get("Maximum resident set size (kbytes)", 0)),
                      "peak_tree_rss_kib": peak,
                      "user_s": float(info.get("User time (seconds)", 0)),
                      "sys_s": float(info.get("System time (seconds)", 0))}))


if __name__ == "__main__":
    main()
