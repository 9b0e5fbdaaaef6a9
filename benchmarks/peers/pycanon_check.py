"""Runs inside benchmarks/.venv-peers/pycanon: one pycanon check, one JSON line out.

Usage: python pycanon_check.py CHECK SCALE   (CHECK in k, l_distinct, l_entropy, t_equal)

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

WORK = Path(__file__).resolve().parent.parent / "work"
QI = [
    "sex",
    "age",
    "race",
    "marital-status",
    "education",
    "native-country",
    "workclass",
    "occupation",
]
SA = ["salary-class"]


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
    df = pd.read_csv(WORK / f"adult_x{scale}.csv")
    after_load = rss_mb()
    started = time.perf_counter()
    if check == "k":
        value = anonymity.k_anonymity(df, QI)
    elif check == "l_distinct":
        value = anonymity.l_diversity(df, QI, SA)
    elif check == "l_entropy":
        value = anonymity.entropy_l_diversity(df, QI, SA)
    elif check == "t_equal":
        value = anonymity.t_closeness(df, QI, SA)
    else:
        raise SystemExit(f"unknown check {check}")
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "tool": "pycanon",
                "check": check,
                "scale": scale,
                "rows": len(df),
                "seconds": round(seconds, 4),
                "value": float(value),
                "rss_after_load_mb": round(after_load, 1),
                "peak_rss_mb": round(peak_mb(), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
