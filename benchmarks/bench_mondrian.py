"""Mondrian at k=5 on Adult: ours (transforms.mondrian) vs anonypy, time and information loss.

On Adult xN every record has N copies, so k=5 needs no recoding once N >= 5; ours also runs
at k=5N there (the same privacy per copy) to show the cost of real work at that size.

Both run on the 8 non-salary QIs, age numeric. Two variants of ours:

* ``ours-set``: no hierarchies, categorical values recoded as sets (anonypy's semantics);
* ``ours-hierarchy``: Adult's ARX hierarchies, categorical values recoded to the lowest
  common ancestor (NCP counts the input values under it).

Information loss is the normalized certainty penalty per attribute, computed by
``transforms.utility.ncp_per_attribute`` from the original values and each tool's partition
of the rows, so tools with different label formats are scored by the same code.

    python benchmarks/bench_mondrian.py run [--scales 1 10 100] [--peer-scales 1 10]
"""

from __future__ import annotations

import argparse
import sys
import time

import _harness as h
import numpy as np
import pandas as pd

K = 5


def worker(tool: str, scale: int, k: int = K) -> None:
    from transforms.hierarchy import find_hierarchies
    from transforms.mondrian import mondrian
    from transforms.privacy_models import KAnonymity

    df = pd.read_parquet(h.data_path(scale, "parquet"))
    hierarchies = (
        find_hierarchies(h.ADULT_DIR, columns=h.ADULT_QI) if tool == "ours-hierarchy" else {}
    )
    after_load = h.rss_mb()
    started = time.perf_counter()
    result = mondrian(
        df, qi=h.ADULT_QI, models=[KAnonymity(k)], hierarchies=hierarchies, numeric=["age"]
    )
    seconds = time.perf_counter() - started
    np.save(h.WORK / f"mondrian_{tool}_x{scale}_k{k}.npy", result.partition)
    h.emit(
        {
            "tool": tool,
            "scale": scale,
            "rows": len(df),
            "k": k,
            "seconds": round(seconds, 3),
            "n_partitions": result.n_partitions,
            "min_class_size": result.min_class_size,
            "rss_after_load_mb": round(after_load, 1),
        }
    )


def score(tool: str, scale: int, k: int, hierarchical: bool) -> dict[str, float]:
    """NCP per attribute of a tool's partition, computed by our utility module."""
    from transforms.hierarchy import find_hierarchies
    from transforms.utility import ncp_per_attribute

    df = pd.read_parquet(h.data_path(scale, "parquet"))
    pid = np.load(h.WORK / f"mondrian_{tool}_x{scale}_k{k}.npy")
    hierarchies = find_hierarchies(h.ADULT_DIR, columns=h.ADULT_QI) if hierarchical else {}
    hierarchies.pop("age", None)
    return ncp_per_attribute(
        df, qi=h.ADULT_QI, classes=pid, numeric=["age"], hierarchies=hierarchies
    )


def run(scales: list[int], peer_scales: list[int]) -> list[dict]:
    h.prepare_adult(sorted({*scales, *peer_scales}))
    results = []
    for scale in sorted({*scales, *peer_scales}):
        jobs = []
        if scale in scales:
            # k=5 on xN: every record has N copies, so also k=5N (the same privacy per copy)
            for k in sorted({K, K * scale}):
                for tool in ("ours-set", "ours-hierarchy"):
                    argv = h.our_worker("bench_mondrian.py", tool, str(scale), "--k", str(k))
                    jobs.append((tool, k, argv))
        if scale in peer_scales:
            out = h.WORK / f"mondrian_anonypy_x{scale}_k{K}.npy"
            jobs.append(
                (
                    "anonypy",
                    K,
                    h.peer_worker("anonypy", "anonypy_mondrian.py", str(K), str(scale), str(out)),
                )
            )
        for tool, k, argv in jobs:
            h.log(f"mondrian: {tool} x{scale} k={k}")
            record = h.measure(argv, timeout=3600)
            record.update({"tool": tool, "scale": scale, "k": k})
            if "error" not in record:
                loss = score(tool, scale, k, hierarchical=tool == "ours-hierarchy")
                record["ncp"] = {c: round(v, 5) for c, v in loss.items()}
                record["ncp_mean"] = round(float(np.mean(list(loss.values()))), 5)
            h.log(f"  -> {record}")
            results.append(record)
    h.save("mondrian", results)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("worker")
    w.add_argument("tool", choices=["ours-set", "ours-hierarchy"])
    w.add_argument("scale", type=int)
    w.add_argument("--k", type=int, default=K)
    r = sub.add_parser("run")
    r.add_argument("--scales", type=int, nargs="+", default=[1, 10, 100])
    r.add_argument("--peer-scales", type=int, nargs="*", default=[1, 10])
    args = parser.parse_args()
    if args.cmd == "worker":
        worker(args.tool, args.scale, args.k)
    else:
        run(args.scales, args.peer_scales)


if __name__ == "__main__":
    sys.exit(main())
