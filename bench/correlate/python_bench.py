"""The Python half of bench/correlate/run.sh, and the peer the agreement test
(lib/correlate/tests/all/scipy.rs) checks sopilot-correlate against.

For every case of DIR/cases.json (written by `correlate_bench write`), prints one
JSON line per implementation:

- "scipy": r at lag 0 by scipy.stats.pearsonr; the lag by scipy.signal.correlate
  of the standardised series (FFT or direct, scipy's choice) with
  scipy.signal.correlation_lags, each lag's sum divided by its overlap, the
  largest |value| within +-max_lag; the r at that lag by pearsonr on the
  overlapping slices. This is how one would do it with scipy.
- "numpy-exact": Pearson's r at every lag within +-max_lag by np.corrcoef on the
  overlapping slices (the crate's exact definition), the largest |r|.

Lag convention (the crate's): r(k) = corr(symptom[t], candidate[t + k]); a
negative k means the candidate moves first. scipy.signal.correlate(in1, in2)[k]
= sum_n in1[n + k] * in2[n], so in1 is the candidate and in2 the symptom.

Usage: python_bench.py DIR [REPEAT]    (REPEAT timed runs per case, default 50)
"""

import json
import sys
import time

import numpy as np
import scipy
from scipy import signal, stats


def scipy_way(s, c, max_lag):
    r0 = stats.pearsonr(s, c).statistic
    sz = (s - s.mean()) / s.std()
    cz = (c - c.mean()) / c.std()
    full = signal.correlate(cz, sz, mode="full")
    lags = signal.correlation_lags(len(cz), len(sz), mode="full")
    keep = np.abs(lags) <= max_lag
    lags, full = lags[keep], full[keep] / (len(s) - np.abs(lags[keep]))
    # Ties go to the smaller |lag|, then to the negative one, as in the crate.
    order = np.lexsort((lags, np.abs(lags), -np.round(np.abs(full), 12)))
    k = int(lags[order[0]])
    return r0, k, overlap_r(s, c, k)


def overlap_r(s, c, k):
    n = len(s)
    if k >= 0:
        return stats.pearsonr(s[: n - k], c[k:]).statistic
    return stats.pearsonr(s[-k:], c[: n + k]).statistic


def numpy_exact(s, c, max_lag):
    n = len(s)
    best_k, best_r = 0, None
    for a in range(max_lag + 1):
        for k in ([0] if a == 0 else [-a, a]):
            x, y = (s[: n - k], c[k:]) if k >= 0 else (s[-k:], c[: n + k])
            r = np.corrcoef(x, y)[0, 1]
            if best_r is None or abs(r) > abs(best_r) + 1e-9:
                best_k, best_r = k, r
    return np.corrcoef(s, c)[0, 1], best_k, best_r


def median_us(repeat, f):
    times = []
    for _ in range(max(repeat, 1)):
        start = time.perf_counter()
        f()
        times.append((time.perf_counter() - start) * 1e6)
    times.sort()
    return times[len(times) // 2]


def main():
    folder = sys.argv[1]
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    with open(f"{folder}/cases.json") as f:
        cases = json.load(f)
    for case in cases:
        s = np.asarray(case["symptom"], dtype=float)
        c = np.asarray(case["candidate"], dtype=float)
        max_lag = int(case["max_lag"])
        for name, fn in (("scipy", scipy_way), ("numpy-exact", numpy_exact)):
            r0, k, rk = fn(s, c, max_lag)
            us = median_us(repeat, lambda: fn(s, c, max_lag))
            print(json.dumps({
                "impl": name, "case": case["name"], "n": len(s), "lead": case["lead"],
                "r0": float(r0), "lag": k, "r_lag": float(rk), "median_us": us, "runs": repeat,
                "versions": {"numpy": np.__version__, "scipy": scipy.__version__},
            }))


if __name__ == "__main__":
    main()
