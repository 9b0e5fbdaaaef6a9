"""Builders for common generalization hierarchies (all functional: each value has one parent).

- ``interval_hierarchy``: numbers -> ``[20, 25)`` -> ``[20, 30)`` -> ... -> ``*``
- ``date_hierarchy``: ISO day -> month ``2024-05`` -> quarter ``2024-Q2`` -> year -> ``*``
- ``postal_code_hierarchy``: Japanese 7-digit code -> 3 digits -> prefecture -> region -> ``*``
- ``masking_hierarchy``: ``1234`` -> ``123*`` -> ``12**`` -> ... -> ``*``
- ``ordered_hierarchy``: adjacent categories grouped (``[a..b]``), groups of groups, ``*``

Errors name the column and count the offending values; they never quote them.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date

import pandas as pd

from transforms.errors import DataError
from transforms.hierarchy import Hierarchy, HierarchyError

__all__ = [
    "InvalidValuesError",
    "date_hierarchy",
    "interval_hierarchy",
    "masking_hierarchy",
    "ordered_hierarchy",
    "postal_code_hierarchy",
]


class InvalidValuesError(HierarchyError, DataError):
    """Values a builder cannot place (not a number, not a date, unknown postal prefix...)."""

    def __init__(self, column: str, count: int, expected: str) -> None:
        self.column = column
        self.count = count
        self.expected = expected
        super().__init__(f"column {column!r}: {count} distinct value(s) are not {expected}")


def _distinct(values: Iterable[object]) -> list[str]:
    series = pd.Series(list(values), dtype=object).dropna().astype(str)
    return list(dict.fromkeys(series.tolist()))


def _number_label(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def interval_hierarchy(
    values: Iterable[object],
    /,
    *,
    column: str,
    widths: Sequence[float] = (5, 10, 20),
    top: str = "*",
) -> Hierarchy:
    """Numbers -> half-open intervals of growing width -> ``top``.

    Intervals are aligned at multiples of the width (``[20, 25)``); each width must be a
    multiple of the previous one so that every interval lies in one interval above it.

    >>> interval_hierarchy(["23", "37"], column="age", widths=(5, 10)).levels[0]
    ('23', '[20, 25)', '[20, 30)', '*')
    """
    for narrow, wide in itertools.pairwise(widths):
        ratio = wide / narrow
        if narrow <= 0 or not math.isclose(ratio, round(ratio)) or ratio < 1:
            raise HierarchyError(
                f"interval widths for {column!r} must be positive and each a multiple of the "
                f"previous one, got {tuple(widths)}"
            )
    leaves = _distinct(values)
    numbers = pd.to_numeric(pd.Series(leaves, dtype=object), errors="coerce")
    bad = int(numbers.isna().sum())
    if bad:
        raise InvalidValuesError(column, bad, "numbers")
    rows = []
    for leaf, number in sorted(zip(leaves, numbers.tolist(), strict=True), key=lambda p: p[1]):
        row = [leaf]
        for width in widths:
            low = math.floor(number / width) * width
            row.append(f"[{_number_label(low)}, {_number_label(low + width)})")
        row.append(top)
        rows.append(tuple(row))
    return Hierarchy(column, tuple(rows))


def date_hierarchy(values: Iterable[object], /, *, column: str, top: str = "*") -> Hierarchy:
    """ISO dates ``YYYY-MM-DD`` -> ``YYYY-MM`` -> ``YYYY-Qn`` -> ``YYYY`` -> ``top``."""
    rows = []
    bad = 0
    for leaf in sorted(_distinct(values)):
        try:
            day = date.fromisoformat(leaf)
        except ValueError:
            bad += 1
            continue
        quarter = (day.month - 1) // 3 + 1
        rows.append(
            (
                leaf,
                f"{day.year:04d}-{day.month:02d}",
                f"{day.year:04d}-Q{quarter}",
                f"{day.year:04d}",
                top,
            )
        )
    if bad:
        raise InvalidValuesError(column, bad, "ISO dates (YYYY-MM-DD)")
    return Hierarchy(column, tuple(rows))


_POSTAL = re.compile(r"^(\d{3})-?(\d{4})$")


def postal_code_hierarchy(
    codes: Iterable[object],
    /,
    *,
    prefecture_of: Mapping[str, str],
    region_of: Mapping[str, str],
    column: str = "postal_code",
    top: str = "*",
) -> Hierarchy:
    """Japanese postal codes (``NNN-NNNN`` or ``NNNNNNN``) -> 3 digits -> prefecture -> region.

    ``prefecture_of`` maps the 3-digit prefix to a prefecture, ``region_of`` a prefecture to its
    region (e.g. 関東). Leaves keep the codes as written.
    """
    rows = []
    malformed = unknown = 0
    for leaf in sorted(_distinct(codes)):
        match = _POSTAL.match(leaf)
        if not match:
            malformed += 1
            continue
        prefix = match.group(1)
        prefecture = prefecture_of.get(prefix)
        region = region_of.get(prefecture) if prefecture is not None else None
        if prefecture is None or region is None:
            unknown += 1
            continue
        rows.append((leaf, prefix, prefecture, region, top))
    if malformed:
        raise InvalidValuesError(column, malformed, "postal codes NNN-NNNN")
    if unknown:
        raise InvalidValuesError(column, unknown, "postal codes with a known prefix and region")
    return Hierarchy(column, tuple(rows))


def masking_hierarchy(values: Iterable[object], /, *, column: str, top: str = "*") -> Hierarchy:
    """Mask characters right to left: level i replaces the last i characters by ``*``.

    Values keep their length at every level but the top, so labels of values of different
    lengths never collide. Height is the longest value's length + 1 (+1 for ``top`` if needed).
    """
    leaves = sorted(_distinct(values))
    longest = max((len(v) for v in leaves), default=0)
    rows = []
    for leaf in leaves:
        row = [leaf]
        for level in range(1, longest + 1):
            masked = min(level, len(leaf))
            row.append(leaf[: len(leaf) - masked] + "*" * masked)
        row.append(top)
        rows.append(tuple(row))
    return Hierarchy(column, tuple(rows))


def ordered_hierarchy(
    categories: Sequence[str],
    /,
    *,
    column: str,
    group_sizes: Sequence[int] = (2, 4),
    top: str = "*",
) -> Hierarchy:
    """Ordered categories (e.g. satisfaction 1..5) -> groups of adjacent ones -> ``top``.

    ``group_sizes`` counts categories per group at each level; each must be a multiple of the
    previous one. A group is labelled ``[first..last]`` (``[only]`` for a single category).
    """
    if len(set(categories)) != len(categories):
        raise HierarchyError(f"ordered categories for {column!r} must be distinct")
    for narrow, wide in itertools.pairwise(group_sizes):
        if narrow < 1 or wide % narrow:
            raise HierarchyError(
                f"group sizes for {column!r} must each be a multiple of the previous one, "
                f"got {tuple(group_sizes)}"
            )
    rows = []
    for index, category in enumerate(categories):
        row = [category]
        for size in group_sizes:
            start = (index // size) * size
            members = categories[start : start + size]
            row.append(f"[{members[0]}]" if len(members) == 1 else f"[{members[0]}..{members[-1]}]")
        row.append(top)
        rows.append(tuple(row))
    return Hierarchy(column, tuple(rows))
