"""Runs inside benchmarks/.venv-peers/pycanon: one pycanon check, one JSON line out.

Usage: python pycanon_check.py CHECK SCALE [REPEATS]
(CHECK in k, l_distinct, l_entropy, t_equal; the best of REPEATS runs is reported)

pycanon's l-diversity indexes classes with positions taken from the index, so it needs a
0..n-1 index (the CSV read gives one). Its entropy l rounds exp(H) down to an integer.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

import pandas as pd
from pycanon import anonymity

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # benchmarks/
import adult_columns  # standard library only

WORK = Path(__file__).resolve().parent.parent / "work"
QI = adult_columns.QI
SA = [adult_columns.SENSITIVE]


def peak_mb() -> float:
    """VmHWM: peak RSS of this process image (ru_maxrss would include the parent's)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    check, scale = sys.argv[1], int(sys.argv[2])
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    df = pd.read_csv(WORK / f"adult_x{scale}.csv")
    after_load = rss_mb()
    functions = {
        "k": lambda: anonymity.k_anonymity(df, QI),
        "l_distinct": lambda: anonymity.l_diversity(df, QI, SA),
        "l_entropy": lambda: anonymity.entropy_l_diversity(df, QI, SA),
        "t_equal": lambda: anonymity.t_closeness(df, QI, SA),
    }
    if check not in functions:
        raise SystemExit(f"unknown check {check}")
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        value = functions[check]()
        times.append(time.perf_counter() - started)
    seconds = min(times)
    print(
        json.dumps(
            {
                "tool": "pycanon",
                "check": check,
                "scale": scale,
                "rows": len(df),
                "seconds": round(seconds, 4),
                "all_seconds": [round(t, 4) for t in times],
                "value": float(value),
                "rss_after_load_mb": round(after_load, 1),
                "peak_rss_mb": round(peak_mb(), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
