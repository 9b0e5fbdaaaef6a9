"""A large-domain sensitive attribute on Adult: a seeded, documented recipe (issue 13, item 3).

Adult (30,162 rows, the 8 QIs without salary-class, ARX's hierarchies) gets one synthetic
sensitive column ``diagnosis`` of 1,280 possible ICD-like codes under a 5-level hierarchy:

    leaf ``C123`` -> ``C12*`` -> ``C1**`` -> ``C***`` -> ``*``

(chapter letter A..J, block 0..7, category 0..3, sub-code 0..3: 10 * 8 * 4 * 4 = 1,280 leaves).
Each row draws its code with ``numpy.random.default_rng(SEED)``: the chapter follows the
row's age decade (the decade's letter with probability 0.6, else uniform), block, category and
sub-code are Zipf-like (probability proportional to ``1 / (i + 1)``). The result depends on
age, so t-closeness is not trivial, and has over 1,000 distinct values.

    python benchmarks/large_domain.py --write-arx DIR   # CSVs for ARX (data + hierarchies)
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import adult_columns  # noqa: E402

from transforms.hierarchy import Hierarchy, to_arx_csv  # noqa: E402

ADULT = ROOT / "tests" / "fixtures" / "adult"
SEED = 20240613
SENSITIVE = "diagnosis"
QI = adult_columns.QI  # the 8 QIs without salary-class
CHAPTERS = "ABCDEFGHIJ"
BLOCKS, CATEGORIES, SUBCODES = 8, 4, 4


def _zipf(size: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, size + 1)
    return np.asarray(weights / weights.sum())


def diagnosis_hierarchy() -> Hierarchy:
    """All 1,280 codes with their 5 levels (ARX's row format: leaf first, ``*`` last)."""
    rows = []
    for chapter in CHAPTERS:
        for block in range(BLOCKS):
            for category in range(CATEGORIES):
                for sub in range(SUBCODES):
                    rows.append(
                        (
                            f"{chapter}{block}{category}{sub}",
                            f"{chapter}{block}{category}*",
                            f"{chapter}{block}**",
                            f"{chapter}***",
                            "*",
                        )
                    )
    return Hierarchy(SENSITIVE, tuple(rows))


def large_domain_table(seed: int = SEED) -> pd.DataFrame:
    """Adult (the 8 QIs) plus the seeded ``diagnosis`` column; same seed, same table."""
    df = pd.read_csv(ADULT / "adult.csv", sep=";", dtype="str")[QI].copy()
    rng = np.random.default_rng(seed)
    n = len(df)
    decade = np.clip(df["age"].astype(int).to_numpy() // 10 - 1, 0, len(CHAPTERS) - 1)
    chapter = np.where(rng.random(n) < 0.6, decade, rng.integers(0, len(CHAPTERS), n))
    block = rng.choice(BLOCKS, size=n, p=_zipf(BLOCKS))
    category = rng.choice(CATEGORIES, size=n, p=_zipf(CATEGORIES))
    sub = rng.choice(SUBCODES, size=n, p=_zipf(SUBCODES))
    letters = np.asarray(list(CHAPTERS))[chapter]
    df[SENSITIVE] = [
        f"{c}{b}{g}{s}" for c, b, g, s in zip(letters, block, category, sub, strict=True)
    ]
    return df


def write_arx_inputs(directory: Path, seed: int = SEED) -> None:
    """The table (``;``-separated, header) and every hierarchy in ARX's CSV format."""
    directory.mkdir(parents=True, exist_ok=True)
    large_domain_table(seed).to_csv(directory / "data.csv", sep=";", index=False)
    for column in QI:
        shutil.copy(ADULT / f"adult_hierarchy_{column}.csv", directory / f"hierarchy_{column}.csv")
    (directory / f"hierarchy_{SENSITIVE}.csv").write_text(
        to_arx_csv(diagnosis_hierarchy()), encoding="utf-8"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-arx", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    write_arx_inputs(args.write_arx, args.seed)
    df = large_domain_table(args.seed)
    print(f"{len(df):,} rows, {df[SENSITIVE].nunique():,} distinct {SENSITIVE} values")


if __name__ == "__main__":
    main()
