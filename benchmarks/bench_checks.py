"""Privacy checks on Adult x1/x10/x100: ours (check_privacy) vs pycanon, time and peak memory.

QIs: the 8 non-salary columns of Adult; sensitive attribute: salary-class.
Checks: k-anonymity (k=5), distinct l-diversity (l=2), entropy l-diversity (l=2),
t-closeness (equal distance, t=0.2). pycanon computes the achieved level (k, l, t); ours
computes the full PrivacyReport (which also holds the achieved level), so both do the work
of grouping and per-class statistics. ``ours-category`` runs the same check on the same data
held in categorical columns (conversion not timed, as reading the CSV is not timed for
pycanon). A plain pandas groupby for k is shown as a floor. Every timing is the best of
``REPEATS`` runs in one process (all runs are kept in the JSON).

    python benchmarks/bench_checks.py run [--scales 1 10 100]
"""

from __future__ import annotations

import argparse
import sys
import time

import _harness as h
import pandas as pd

CHECKS = ("k", "l_distinct", "l_entropy", "t_equal")
K, L, T = 5, 2, 0.2


def _models(check: str) -> list:
    from transforms.privacy_models import (
        DistinctLDiversity,
        EntropyLDiversity,
        KAnonymity,
        TCloseness,
    )

    return {
        "k": [KAnonymity(K)],
        "l_distinct": [DistinctLDiversity(h.SENSITIVE, L)],
        "l_entropy": [EntropyLDiversity(h.SENSITIVE, L)],
        "t_equal": [TCloseness(h.SENSITIVE, T, "equal")],
    }[check]


REPEATS = 3


def worker(tool: str, check: str, scale: int, repeats: int = REPEATS) -> None:
    df = pd.read_parquet(h.data_path(scale, "parquet"))
    if tool == "ours-category":
        # the same data with categorical columns, e.g. Parquet read with read_dictionary
        df = df.astype({c: "category" for c in [*h.ADULT_QI, h.SENSITIVE]})
    after_load = h.rss_mb()
    times = []
    for _ in range(repeats):
        if tool in ("ours", "ours-category"):
            from transforms.privacy_models import check_privacy

            models = _models(check)
            started = time.perf_counter()
            report = check_privacy(df, qi=h.ADULT_QI, models=models)
            times.append(time.perf_counter() - started)
            value = {
                "k": report.k,
                "l_distinct": report.l,
                "l_entropy": report.l,
                "t_equal": report.t,
            }[check]
            answer = {"value": value, "n_classes": report.n_classes, "satisfied": report.satisfied}
        elif tool == "pandas-groupby":
            started = time.perf_counter()
            value = int(df.groupby(h.ADULT_QI, sort=False, observed=True).size().min())
            times.append(time.perf_counter() - started)
            answer = {"value": value}
        else:
            raise SystemExit(f"unknown tool {tool}")
    h.emit(
        {
            "tool": tool,
            "check": check,
            "scale": scale,
            "rows": len(df),
            "seconds": round(min(times), 4),
            "all_seconds": [round(t, 4) for t in times],
            "rss_after_load_mb": round(after_load, 1),
            **answer,
        }
    )


def run(scales: list[int], checks: list[str]) -> list[dict]:
    h.prepare_adult(scales)
    results = []
    for scale in scales:
        for check in checks:
            jobs = [
                (tool, h.our_worker("bench_checks.py", tool, check, str(scale)))
                for tool in ("ours", "ours-category")
            ]
            jobs.append(
                (
                    "pycanon",
                    h.peer_worker("pycanon", "pycanon_check.py", check, str(scale), str(REPEATS)),
                )
            )
            if check == "k":
                jobs.append(
                    (
                        "pandas-groupby",
                        h.our_worker("bench_checks.py", "pandas-groupby", check, str(scale)),
                    )
                )
            for tool, argv in jobs:
                h.log(f"checks: {tool} {check} x{scale}")
                record = h.measure(argv, timeout=1800)
                record.update({"tool": tool, "check": check, "scale": scale})
                h.log(f"  -> {record}")
                results.append(record)
    h.save("checks", results)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("worker")
    w.add_argument("tool")
    w.add_argument("check", choices=CHECKS)
    w.add_argument("scale", type=int)
    r = sub.add_parser("run")
    r.add_argument("--scales", type=int, nargs="+", default=[1, 10, 100])
    r.add_argument("--checks", nargs="+", default=list(CHECKS), choices=CHECKS)
    args = parser.parse_args()
    if args.cmd == "worker":
        worker(args.tool, args.check, args.scale)
    else:
        run(args.scales, args.checks)


if __name__ == "__main__":
    sys.exit(main())
