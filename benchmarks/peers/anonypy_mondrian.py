"""Runs inside benchmarks/.venv-peers/anonypy: anonypy's Mondrian at k on Adult xSCALE.

Usage: python anonypy_mondrian.py K SCALE OUT.npy

Times the partitioning (``Mondrian.partition``) and the recoding of the partitions into
output rows (``anonypy.anonymize``, what ``Preserver.anonymize_k_anonymity`` returns)
separately, and writes the partition id of every row to OUT.npy so the information loss can
be computed by the same code as for ours. Categorical QIs use the category dtype (anonypy's
convention: categorical partitions are cut by halving the list of distinct values, and
recoded as the set of values); age stays numeric (cut at the median, recoded min-max).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from anonypy import anonypy, mondrian

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # benchmarks/
import adult_columns  # standard library only

WORK = Path(__file__).resolve().parent.parent / "work"
QI = adult_columns.QI
SA = adult_columns.SENSITIVE


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
    k, scale, out = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    df = pd.read_csv(WORK / f"adult_x{scale}.csv")
    for column in [*QI, SA]:
        if column != "age":
            df[column] = df[column].astype("category")
    after_load = rss_mb()
    model = mondrian.Mondrian(df, QI, SA)
    started = time.perf_counter()
    partitions = model.partition(k)
    partition_s = time.perf_counter() - started
    started = time.perf_counter()
    rows = anonypy.anonymize(df, partitions, QI, SA)
    recode_s = time.perf_counter() - started
    pid = np.empty(len(df), dtype=np.int64)
    for i, part in enumerate(partitions):
        pid[df.index.get_indexer(part)] = i
    np.save(out, pid)
    sizes = np.bincount(pid)
    print(
        json.dumps(
            {
                "tool": "anonypy",
                "scale": scale,
                "rows": len(df),
                "k": k,
                "seconds": round(partition_s + recode_s, 3),
                "partition_s": round(partition_s, 3),
                "recode_s": round(recode_s, 3),
                "n_partitions": len(partitions),
                "min_class_size": int(sizes.min()),
                "output_rows": len(rows),
                "rss_after_load_mb": round(after_load, 1),
                "peak_rss_mb": round(peak_mb(), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
