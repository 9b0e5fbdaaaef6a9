"""Build the shipped ARX hierarchies under data/hierarchies/ from the reference tables.

The files are committed so that a release can be reproduced and reviewed; a test rebuilds
them and fails if the committed copies drift from the reference data.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

from pipeline.settings.paths import HIERARCHY_DIR, REFERENCE_DIR
from pipeline.sources.hierarchies import HIERARCHY_COLUMNS, HIERARCHY_FILE
from pipeline.sources.schema import GENDERS

MAX_AGE = 120


def _band(age: int, width: int) -> str:
    low = age - age % width
    return f"{low}-{low + width - 1}"


def age_rows() -> list[list[str]]:
    """Age -> 5-year band -> 10-year band -> 20-year band -> *."""
    return [[str(a), _band(a, 5), _band(a, 10), _band(a, 20), "*"] for a in range(MAX_AGE + 1)]


def postal_rows(reference_dir: Path = REFERENCE_DIR) -> list[list[str]]:
    """3-digit postal prefix -> prefecture -> region (the eight regions of Japan) -> *."""
    with (reference_dir / "jp_prefectures.csv").open(encoding="utf-8", newline="") as f:
        prefectures = {row["code"]: row for row in csv.DictReader(f)}
    with (reference_dir / "jp_postal_prefixes.csv").open(encoding="utf-8", newline="") as f:
        prefixes = list(csv.DictReader(f))
    rows = []
    for row in sorted(prefixes, key=lambda r: r["postal_prefix"]):
        pref = prefectures[row["prefecture_code"]]
        rows.append([row["postal_prefix"], pref["prefecture_ja"], pref["region_ja"], "*"])
    return rows


def gender_rows() -> list[list[str]]:
    """Gender (the schema's vocabulary) -> *."""
    return [[g, "*"] for g in GENDERS]


def render(rows: list[list[str]]) -> str:
    return "".join(";".join(r) + "\n" for r in rows)


def build_reference_hierarchies(out_dir: Path = HIERARCHY_DIR) -> list[Path]:
    """Write customers_hierarchy_{age,gender,postal_code}.csv (ARX format) into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    builders: dict[str, Callable[[], list[list[str]]]] = {
        "age": age_rows,
        "gender": gender_rows,
        "postal_code": postal_rows,
    }
    written = []
    for column in HIERARCHY_COLUMNS:
        path = out_dir / HIERARCHY_FILE.format(column=column)
        path.write_text(render(builders[column]()), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for p in build_reference_hierarchies():
        print(p)
