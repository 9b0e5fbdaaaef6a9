"""The report builder (``transforms.report_tables.build_cells``) on synthetic customers.

A 4-dimensional table with every margin (region 8 x age group 10 x gender 3 x course 6: 2,772
cells) over N customers with R records each (a sum of yen per cell, its contributors and its
two largest customers). Run: ``.venv/bin/python benchmarks/bench_report_build.py 1000000 5``.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from transforms.report_tables import CellMeasure, build_cells
from transforms.table_structure import TableDimension


def main(customers: int, per_customer: int) -> None:
    rng = np.random.default_rng(0)
    regions = tuple(f"r{i}" for i in range(8))
    ages = tuple(f"a{i}" for i in range(10))
    genders = ("F", "M", "X")
    courses = tuple(f"c{i}" for i in range(6))
    people = pd.DataFrame(
        {
            "pseudonym": np.char.add("p", np.arange(customers).astype(str)),
            "region": rng.choice(regions, customers),
            "age": rng.choice(ages, customers),
            "gender": rng.choice(genders, customers, p=[0.8, 0.18, 0.02]),
        }
    )
    records = people.loc[np.repeat(np.arange(customers), per_customer)].reset_index(drop=True)
    records["course"] = rng.choice(courses, len(records))
    records["amount"] = rng.integers(1000, 20000, len(records))
    dims = [
        TableDimension.flat("region", regions),
        TableDimension.flat("age", ages),
        TableDimension.flat("gender", genders),
        TableDimension.flat("course", courses),
    ]
    started = time.perf_counter()
    cells = build_cells(records, dims, measure=CellMeasure("sum", "amount"))
    took = time.perf_counter() - started
    print(f"records {len(records)} cells {len(cells)} build {took:.1f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
