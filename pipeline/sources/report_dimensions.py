"""A report spec's dimensions as code trees, and each record's leaf code in them.

Domains come from reference data and the spec, never from the data alone, wherever that is
possible (hierarchy levels, age bands, the course menu, the window's months, channels, lists):
a category then appears in a table whether or not anyone falls in it. Campaign codes are the
one exception: the campaigns of the window that had applications (public facts, since the
company announces its campaigns).
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd

from pipeline.settings.paths import REFERENCE_DIR
from pipeline.settings.report_specs import DimensionSpec, ReportSpec
from pipeline.sources.hierarchies import level_labels, shipped_hierarchies
from pipeline.sources.schema import CHANNELS, COURSE_CATEGORIES, MAIL_LISTS
from transforms.deidentify import NO_VISIT
from transforms.report_records import window_months, window_quarters
from transforms.table_structure import TOTAL, TableDimension


def prefecture_regions() -> dict[str, str]:
    """Prefecture name (Japanese) -> region (地方), from the shipped reference table."""
    with (REFERENCE_DIR / "jp_prefectures.csv").open(encoding="utf-8", newline="") as f:
        return {row["prefecture_ja"]: row["region_ja"] for row in csv.DictReader(f)}


# Regions east and west (東日本 / 西日本), split at the region level: 中部 counts as east.
EAST = ("北海道", "東北", "関東", "中部")
BROAD_AREAS = ("東日本", "西日本")


def broad_area(region: str) -> str:
    return BROAD_AREAS[0] if region in EAST else BROAD_AREAS[1]


def store_areas(stores: pd.DataFrame) -> dict[int, str]:
    """Store id -> the region of its prefecture (unknown prefectures map to nothing)."""
    regions = prefecture_regions()
    mapped = stores["prefecture"].astype("object").map(regions)
    return {
        int(s): str(r)
        for s, r in zip(stores["store_id"], mapped, strict=True)
        if isinstance(r, str)
    }


def age_band_labels(bands: Sequence[int]) -> tuple[str, ...]:
    """The labels of age bands from their lower bounds (``[0, 20]``: ``0-19``, ``20+``)."""
    labels = [f"{low}-{high - 1}" for low, high in itertools.pairwise(bands)]
    return (*labels, f"{bands[-1]}+")


def _age_bands(ages: pd.Series, bands: Sequence[int]) -> pd.Series:
    labels = age_band_labels(bands)
    index = np.searchsorted(np.asarray(bands), ages.to_numpy(dtype=np.int64), side="right") - 1
    return pd.Series(np.asarray(labels, dtype=object)[index], index=ages.index, dtype="string")


def _region_tree(name: str) -> TableDimension:
    """Prefecture -> region -> TOTAL, in the reference table's order."""
    regions = prefecture_regions()
    parents: dict[str, str | None] = dict(regions)
    parents |= dict.fromkeys(dict.fromkeys(regions.values()), TOTAL)
    parents[TOTAL] = None
    return TableDimension(name, parents)


def dimension(
    spec: DimensionSpec,
    records: pd.DataFrame,
    *,
    window: tuple[date, date] | None,
) -> tuple[TableDimension, pd.Series]:
    """The dimension's code tree and each record's leaf label (``<NA>`` when it has none)."""
    attribute = spec.attribute
    if attribute in ("age", "gender", "postal_code"):
        tree = shipped_hierarchies((attribute,))[attribute]
        raw = records[attribute].astype("string")
        if spec.bands is not None:
            labels = _age_bands(records[attribute], spec.bands)
            return TableDimension.flat(spec.name, age_band_labels(spec.bands)), labels
        level = int(spec.level or 0)
        known = raw.isin(list(tree.leaves)).fillna(False)
        labels = pd.Series(pd.NA, index=records.index, dtype="string")
        if known.any():
            labels[known] = tree.generalize(raw[known], level=level).to_numpy()
        if spec.subtotals:
            return _region_tree(spec.name), labels
        return TableDimension.flat(spec.name, level_labels(tree, level)), labels
    vocabulary: tuple[str, ...]
    column = attribute
    if attribute == "main_course":
        vocabulary = (*COURSE_CATEGORIES, NO_VISIT)
    elif attribute == "course":
        vocabulary = COURSE_CATEGORIES
    elif attribute in ("visit_month", "answered_month"):
        if window is None:
            raise ValueError(f"dimension {spec.name!r}: a month needs a window")
        vocabulary = window_months(*window)
    elif attribute == "visit_quarter":
        if window is None:
            raise ValueError(f"dimension {spec.name!r}: a quarter needs a window")
        vocabulary = window_quarters(*window)
    elif attribute == "store_area" and spec.level == 1:
        vocabulary = BROAD_AREAS
        labels = records["store_area"].astype("string").map(broad_area, na_action="ignore")
        return TableDimension.flat(spec.name, vocabulary), labels.astype("string")
    elif attribute == "store_area":
        vocabulary = tuple(dict.fromkeys(prefecture_regions().values()))
    elif attribute == "channel":
        vocabulary = CHANNELS
    elif attribute == "mail_list":
        vocabulary = MAIL_LISTS
    elif attribute == "campaign":
        vocabulary = tuple(sorted(records["campaign"].dropna().astype(str).unique()))
    else:
        raise ValueError(f"dimension {spec.name!r}: attribute {attribute!r} not buildable")
    labels = records[column].astype("string")
    labels = labels.where(labels.isin(list(vocabulary)).fillna(False))
    return TableDimension.flat(spec.name, vocabulary), labels


def table_dimensions(
    spec: ReportSpec, records: pd.DataFrame, *, window: tuple[date, date] | None
) -> tuple[list[TableDimension], pd.DataFrame]:
    """Every dimension of ``spec`` and the records with one leaf-label column per dimension
    (named as the dimension) plus ``reason``: why a record has no leaf ('' when it has)."""
    dims: list[TableDimension] = []
    out = records.copy()
    reason = pd.Series("", index=records.index, dtype="string")
    for dim_spec in spec.dimensions:
        dim, labels = dimension(dim_spec, records, window=window)
        kept = spec.filters.get(dim_spec.attribute)
        if kept is not None and all(c in kept for c in dim.leaves if c in kept):
            leaves = tuple(c for c in dim.leaves if c in kept)
            if dim.children.keys() == {TOTAL}:  # a flat dimension: keep the filtered leaves
                dim = TableDimension.flat(dim.name, leaves)
        dims.append(dim)
        missing = labels.isna().to_numpy()
        reason = reason.mask(missing, reason + f"{dim_spec.name}: outside its domain; ")
        out[dim_spec.name] = labels
    out["reason"] = reason.str.rstrip("; ")
    return dims, out
