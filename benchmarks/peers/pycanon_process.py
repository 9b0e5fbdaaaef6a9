"""Runs inside benchmarks/.venv-peers/pycanon as a whole process: import, read the CSV, check.

Usage: python pycanon_process.py CHECK CSV   (CHECK in k, l)

What a pycanon user runs to check a file, timed from outside by ``bench_process.py`` (the
process's wall time, imports and reading included). Prints the achieved level.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
from pycanon import anonymity

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # benchmarks/
import adult_columns  # standard library only

QI = adult_columns.QI
SA = [adult_columns.SENSITIVE]


def main() -> None:
    check, path = sys.argv[1], sys.argv[2]
    df = pd.read_csv(path)
    if check == "k":
        print(anonymity.k_anonymity(df, QI))
    elif check == "l":
        print(anonymity.l_diversity(df, QI, SA))
    else:
        raise SystemExit(f"unknown check {check}")


if __name__ == "__main__":
    main()
