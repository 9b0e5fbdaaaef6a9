"""Cell suppression on a 4-D count table with all margins: ours vs pytauargus Modular.

Synthetic customers (seeded): region (10) x 10-year age band (10) x gender (3, one rare)
x course (6); the *hierarchical* variant puts the age bands under 3 age groups (a subtotal
level). Primary: threshold rule, fewer than 10 customers (protection width 10). Ours:
``transforms.secondary_suppression.protect`` then ``transforms.suppression_audit.audit``.
pytauargus (EUPL-1.2, bench-only dependency) runs Modular (``MOD``) with ``FREQ(10,30)`` on
the same microdata; our audit then checks its pattern too.

*information loss* = share of the grand total's value that sits in suppressed interior cells.

    python benchmarks/bench_suppression.py run [--customers 1000000] [--peer-timeout 600]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import _harness as h
import numpy as np
import pandas as pd

N_THRESHOLD = 10
REGIONS = tuple(f"R{i:02d}" for i in range(10))
AGES = tuple(f"{10 * i:02d}-{10 * i + 9:02d}" for i in range(10))
GENDERS = ("F", "M", "X")
COURSES = tuple(f"C{i}" for i in range(6))


def customers(n: int, seed: int = 20261125) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    region_p = np.array([30, 20, 12, 10, 8, 6, 5, 4, 3, 2]) / 100
    age_p = np.array([1, 12, 18, 18, 16, 14, 11, 6, 3, 1]) / 100
    course_p = np.array([40, 25, 15, 10, 7, 3]) / 100
    return pd.DataFrame(
        {
            "region": np.asarray(REGIONS)[rng.choice(10, n, p=region_p)],
            "age": np.asarray(AGES)[rng.choice(10, n, p=age_p)],
            "gender": np.asarray(GENDERS)[rng.choice(3, n, p=[0.49, 0.49, 0.02])],
            "course": np.asarray(COURSES)[rng.choice(6, n, p=course_p)],
        }
    )


def dimensions(hierarchical: bool) -> list:
    from transforms.table_structure import TOTAL, TableDimension

    if hierarchical:
        group = {
            a: ("young" if i < 3 else "middle" if i < 6 else "senior") for i, a in enumerate(AGES)
        }
        age = TableDimension(
            "age", {**group, "young": TOTAL, "middle": TOTAL, "senior": TOTAL, TOTAL: None}
        )
    else:
        age = TableDimension.flat("age", AGES)
    return [
        TableDimension.flat("region", REGIONS),
        age,
        TableDimension.flat("gender", GENDERS),
        TableDimension.flat("course", COURSES),
    ]


def build(records: pd.DataFrame, dims: list) -> pd.DataFrame:
    """Count distinct customers (one row each here) per leaf, then every margin."""
    from transforms.table_constraints import cells_frame, dense_with_margins

    codes = [
        pd.Categorical(records[d.name], categories=list(d.leaves)).codes.astype(np.int64)
        for d in dims
    ]
    shape = tuple(len(d.leaves) for d in dims)
    leaf = np.bincount(np.ravel_multi_index(codes, shape), minlength=int(np.prod(shape)))
    dense = dense_with_margins(leaf.reshape(shape), dims)
    return cells_frame(dims, {"value": dense, "contributors": dense})


def _shares(cells: pd.DataFrame, dims: list, mask: np.ndarray, primary: np.ndarray) -> dict:
    from transforms.table_structure import TOTAL

    interior = np.ones(len(cells), dtype=bool)
    for d in dims:
        interior &= cells[d.name].isin(list(d.leaves)).to_numpy()
    grand = np.ones(len(cells), dtype=bool)
    for d in dims:
        grand &= (cells[d.name] == TOTAL).to_numpy()
    values = cells["value"].to_numpy()
    return {
        "cells": len(cells),
        "interior_cells": int(interior.sum()),
        "primary": int(primary.sum()),
        "secondary": int((mask & ~primary).sum()),
        "suppressed_share": round(float(mask.mean()), 4),
        "primary_share": round(float(primary.mean()), 4),
        "secondary_share": round(float((mask & ~primary).mean()), 4),
        "interior_suppressed_share": round(float(mask[interior].mean()), 4),
        "information_loss": round(float(values[mask & interior].sum() / values[grand][0]), 5),
    }


def worker_ours(n: int, hierarchical: bool) -> None:
    from transforms.primary_suppression import threshold_rule
    from transforms.secondary_suppression import protect
    from transforms.suppression_audit import audit

    records = customers(n)
    dims = dimensions(hierarchical)
    after_load = h.rss_mb()
    t0 = time.perf_counter()
    cells = build(records, dims)
    t1 = time.perf_counter()
    primary = threshold_rule(cells, n=N_THRESHOLD)
    mask = protect(
        cells, dims, value="value", primary=primary.sensitive, protection=primary.protection
    )
    t2 = time.perf_counter()
    result = audit(cells, dims, value="value", suppressed=mask, protection=primary.protection)
    t3 = time.perf_counter()
    h.emit(
        {
            "tool": "ours",
            "variant": "hierarchical" if hierarchical else "flat",
            "customers": n,
            "build_s": round(t1 - t0, 3),
            "protect_s": round(t2 - t1, 3),
            "audit_s": round(t3 - t2, 3),
            "seconds": round(t3 - t0, 3),
            "audit_passed": result.passed,
            "audit_lps": result.n_lps,
            "rss_after_load_mb": round(after_load, 1),
            **_shares(cells, dims, mask, primary.sensitive),
        }
    )


def worker_tau(n: int) -> None:
    import shutil

    from pytauargus import protect as tau_protect

    from transforms.primary_suppression import threshold_rule
    from transforms.suppression_audit import audit
    from transforms.table_structure import TOTAL

    records = customers(n)
    dims = dimensions(False)
    cells = build(records, dims)
    records["one"] = 1
    # the engine writes its logs (HiTaS.log, JJUit.dat, ...) into the working directory
    scratch = tempfile.mkdtemp(prefix="tauargus-")
    os.chdir(scratch)
    t0 = time.perf_counter()
    res = tau_protect(
        records,
        tables=[d.name for d in dims],
        response="one",
        safety_rules=f"FREQ({N_THRESHOLD},30)",
        suppress="MOD(1)",
    )
    seconds = time.perf_counter() - t0
    out = res.tables[0].dataframe()
    if res.workdir:
        shutil.rmtree(res.workdir, ignore_errors=True)
    shutil.rmtree(scratch, ignore_errors=True)
    for d in dims:
        out[d.name] = out[d.name].astype(str).str.strip().replace("Total", TOTAL)
    status = cells[[d.name for d in dims]].merge(
        out[[*(d.name for d in dims), "status"]], how="left", on=[d.name for d in dims]
    )["status"]
    status = status.fillna("Z").astype(str).str.strip()
    counts = status.value_counts().to_dict()
    # S safe, P protected, Z/E empty: published; U primary, M secondary: suppressed
    mask = ~status.isin(["S", "P", "Z", "E"]).to_numpy()
    primary = threshold_rule(cells, n=N_THRESHOLD)
    ours_view = audit(cells, dims, value="value", suppressed=mask, protection=primary.protection)
    h.emit(
        {
            "tool": "pytauargus-modular",
            "variant": "flat",
            "customers": n,
            "seconds": round(seconds, 3),
            "status_counts": {str(k): int(v) for k, v in counts.items()},
            "our_audit_passed": ours_view.passed,
            "our_audit_narrow": len(ours_view.narrow),
            "our_audit_recomputable": len(ours_view.recomputable),
            "tau_missed_primaries": int((primary.sensitive & ~mask).sum()),
            **_shares(cells, dims, mask, primary.sensitive & mask),
        }
    )


def run(sizes: list[int], peer_sizes: list[int], peer_timeout: float) -> list[dict]:
    records = []
    for n in sizes:
        for hierarchical in (False, True):
            h.log(f"ours, {n:,} customers, hierarchical={hierarchical}")
            rec = h.measure(
                h.our_worker("bench_suppression.py", "ours", str(n), str(int(hierarchical)))
            )
            rec.setdefault("customers", n)
            records.append(rec)
    for n in peer_sizes:
        h.log(f"pytauargus Modular, {n:,} customers (timeout {peer_timeout:.0f} s)")
        rec = h.measure(h.our_worker("bench_suppression.py", "tau", str(n)), timeout=peer_timeout)
        rec.setdefault("tool", "pytauargus-modular")
        rec.setdefault("customers", n)
        records.append(rec)
    h.save("suppression", records)
    return records


def main(argv: list[str]) -> None:
    if argv and argv[0] == "worker":
        if argv[1] == "ours":
            worker_ours(int(argv[2]), argv[3] == "1")
        else:
            worker_tau(int(argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cmd", choices=["run"])
    parser.add_argument("--customers", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--peer-customers", type=int, nargs="+", default=[1_000_000, 9_000])
    parser.add_argument("--peer-timeout", type=float, default=600.0)
    args = parser.parse_args(argv)
    for rec in run(args.customers, args.peer_customers, args.peer_timeout):
        print(rec)


if __name__ == "__main__":
    main(sys.argv[1:])
