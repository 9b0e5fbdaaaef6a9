"""Where time goes as rows and QIs grow: the checker by stage, and the optimal search.

Rows: Adult x1 / x10 / x100 (30,162 / 301,620 / 3,016,200). QIs:

* 5: sex, age, race, marital-status, education;
* 9: the 8 non-salary Adult columns + ``zip``;
* 12: those 9 + ``hours``, ``children``, ``tenure``.

``zip``, ``hours``, ``children`` and ``tenure`` are synthetic, drawn once per Adult row by a
seeded generator (so x10 replicates them with the rows) and come with ARX-style hierarchies
written next to the data. Sensitive: salary-class. Models: 5-anonymity and distinct
2-diversity; the search allows 4 % suppression and minimizes non-uniform entropy.

Checker stages (the same public functions ``check_privacy`` is built from):
encode = factorize each QI and the sensitive column; count = mixed-radix class key,
factorize it, per-class sizes and sensitive histograms (``class_stats``);
check = ``report_from_stats``. ``check_privacy`` end-to-end is timed on its own as well;
stages and end-to-end alternate twice and the best of each is kept.
Search stages: ``encode_table``, ``search``, ``apply_transformation``.

    python benchmarks/bench_scaling.py run [--scales 1 10 100] [--qis 5 9 12] [--no-search]
"""

from __future__ import annotations

import argparse
import sys
import time

import _harness as h
import numpy as np
import pandas as pd

SYNTHETIC = ("zip", "hours", "children", "tenure")
QI_SETS = {
    5: ["sex", "age", "race", "marital-status", "education"],
    9: [*h.ADULT_QI, "zip"],
    12: [*h.ADULT_QI, *SYNTHETIC],
}
HIER_DIR = h.WORK / "hierarchies"
SUPPRESSION = 0.04


def _band(v: int, width: int) -> str:
    lo = v // width * width
    return f"[{lo}-{lo + width - 1}]"


def synthetic_hierarchies() -> dict[str, list[tuple[str, ...]]]:
    return {
        "zip": [(f"{z}", f"{z // 10}*", f"{z // 100}**", "*") for z in range(100, 200)],
        "hours": [(f"{v}", _band(v, 10), _band(v, 50), "*") for v in range(1, 100)],
        "children": [
            (f"{v}", "0" if v == 0 else "1-2" if v <= 2 else "3+", "*") for v in range(0, 7)
        ],
        "tenure": [(f"{v}", _band(v, 10), "*") for v in range(0, 41)],
    }


def prepare(scales: list[int]) -> None:
    from transforms.hierarchy import Hierarchy, to_arx_csv

    h.prepare_adult(scales)
    HIER_DIR.mkdir(parents=True, exist_ok=True)
    for column, rows in synthetic_hierarchies().items():
        path = HIER_DIR / f"synthetic_hierarchy_{column}.csv"
        path.write_text(to_arx_csv(Hierarchy(column, tuple(rows))))
    base = h.adult()
    rng = np.random.default_rng(20260101)
    n = len(base)
    base["zip"] = (100 + rng.zipf(1.6, n) % 100).astype(str)
    base["hours"] = np.clip(rng.normal(40, 12, n).round(), 1, 99).astype(int).astype(str)
    base["children"] = np.minimum(rng.poisson(1.2, n), 6).astype(str)
    base["tenure"] = rng.integers(0, 41, n).astype(str)
    for scale in scales:
        path = h.data_path(scale, "parquet", variant="adult12")
        if not path.exists():
            h.log(f"writing Adult+synthetic x{scale}")
            h.replicate(base, scale).to_parquet(path, index=False)


def _hierarchies(qi: list[str]) -> dict:
    from transforms.hierarchy import find_hierarchies

    adult_cols = [c for c in qi if c not in SYNTHETIC]
    found = find_hierarchies(h.ADULT_DIR, columns=adult_cols)
    found.update(find_hierarchies(HIER_DIR, columns=[c for c in qi if c in SYNTHETIC]))
    return found


def _models() -> list:
    from transforms.privacy_models import DistinctLDiversity, KAnonymity

    return [KAnonymity(5), DistinctLDiversity(h.SENSITIVE, 2)]


def worker_check(scale: int, n_qi: int) -> None:
    from transforms.privacy_models import (
        check_privacy,
        class_stats,
        report_from_stats,
        sensitive_domain,
    )

    qi = QI_SETS[n_qi]
    df = pd.read_parquet(h.data_path(scale, "parquet", variant="adult12"))
    after_load = h.rss_mb()
    models = _models()

    def stages() -> tuple[float, float, float, object]:
        t0 = time.perf_counter()
        codes = [pd.factorize(df[c], use_na_sentinel=False) for c in qi]
        s_codes, s_domain = sensitive_domain(df[h.SENSITIVE], column=h.SENSITIVE)
        t1 = time.perf_counter()
        key = np.zeros(len(df), dtype=np.int64)
        for c, uniques in codes:
            key = key * max(len(uniques), 1) + c
        ids, uniq = pd.factorize(key)
        stats = class_stats(ids, len(uniq), sensitive={h.SENSITIVE: (s_codes, s_domain)})
        t2 = time.perf_counter()
        report = report_from_stats(stats, models)
        t3 = time.perf_counter()
        return t1 - t0, t2 - t1, t3 - t2, report

    def end_to_end() -> tuple[float, object]:
        started = time.perf_counter()
        report = check_privacy(df, qi=qi, models=models)
        return time.perf_counter() - started, report

    # alternate, twice each, keep the best: the first call in a process pays for page faults
    runs = [stages(), end_to_end(), stages(), end_to_end()]
    staged = [r for r in runs if len(r) == 4]
    encode_s = min(r[0] for r in staged)
    count_s = min(r[1] for r in staged)
    check_s = min(r[2] for r in staged)
    total = min(r[0] for r in runs if len(r) == 2)
    report = staged[0][3]
    assert all(r[-1].n_classes == report.n_classes for r in runs)
    h.emit(
        {
            "kind": "check",
            "scale": scale,
            "rows": len(df),
            "qi": n_qi,
            "encode_s": round(encode_s, 4),
            "count_s": round(count_s, 4),
            "check_s": round(check_s, 4),
            "check_privacy_s": round(total, 4),
            "n_classes": report.n_classes,
            "rss_after_load_mb": round(after_load, 1),
        }
    )


def worker_search(scale: int, n_qi: int) -> None:
    from transforms.anonymize import apply_transformation
    from transforms.encode import encode_table
    from transforms.lattice import search
    from transforms.metrics import get_metric

    qi = QI_SETS[n_qi]
    df = pd.read_parquet(h.data_path(scale, "parquet", variant="adult12"))
    hierarchies = _hierarchies(qi)
    after_load = h.rss_mb()
    models = _models()
    t0 = time.perf_counter()
    enc = encode_table(df, qi=qi, hierarchies=hierarchies, sensitive=[h.SENSITIVE])
    t1 = time.perf_counter()
    result = search(
        enc, models=models, suppression_limit=SUPPRESSION, metric=get_metric("nu-entropy")
    )
    t2 = time.perf_counter()
    if result.levels is not None and result.evaluation is not None:
        ev = result.evaluation
        mask = ev.violating[ev.class_of_tuple][enc.row_tuple]
        apply_transformation(
            df, qi=qi, hierarchies=hierarchies, levels=result.levels, suppressed_mask=mask
        )
    t3 = time.perf_counter()
    h.emit(
        {
            "kind": "search",
            "scale": scale,
            "rows": len(df),
            "qi": n_qi,
            "encode_s": round(t1 - t0, 4),
            "search_s": round(t2 - t1, 4),
            "apply_s": round(t3 - t2, 4),
            "total_s": round(t3 - t0, 4),
            "nodes_checked": result.nodes_checked,
            "lattice_size": result.lattice_size,
            "levels": list(result.levels) if result.levels is not None else None,
            "n_tuples": enc.n_tuples,
            "rss_after_load_mb": round(after_load, 1),
        }
    )


def run(scales: list[int], qis: list[int], with_search: bool, timeout: float) -> list[dict]:
    prepare(scales)
    results = []
    kinds = ["check", "search"] if with_search else ["check"]
    for kind in kinds:
        for n_qi in qis:
            timed_out = False
            for scale in sorted(scales):
                if timed_out:  # a larger table will not be faster
                    results.append({"kind": kind, "scale": scale, "qi": n_qi, "error": "skipped"})
                    continue
                h.log(f"scaling: {kind} x{scale} {n_qi} QIs")
                argv = h.our_worker("bench_scaling.py", kind, str(scale), str(n_qi))
                record = h.measure(argv, timeout=timeout)
                record.update({"kind": kind, "scale": scale, "qi": n_qi})
                timed_out = "timeout" in record.get("error", "")
                h.log(f"  -> {record}")
                results.append(record)
    h.save("scaling", results)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("worker")
    w.add_argument("kind", choices=["check", "search"])
    w.add_argument("scale", type=int)
    w.add_argument("qi", type=int, choices=sorted(QI_SETS))
    r = sub.add_parser("run")
    r.add_argument("--scales", type=int, nargs="+", default=[1, 10, 100])
    r.add_argument("--qis", type=int, nargs="+", default=sorted(QI_SETS))
    r.add_argument("--no-search", action="store_true")
    r.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    if args.cmd == "worker":
        (worker_check if args.kind == "check" else worker_search)(args.scale, args.qi)
    else:
        run(args.scales, args.qis, not args.no_search, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
