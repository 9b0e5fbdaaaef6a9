"""What a recipient learns by subtracting two releases it received, and whether that is safe.

Each release passing its own check is not enough: a recipient holds every file it ever got.
If one customer is deleted between two releases, the microdata loses exactly one row and the
count table changes in exactly that customer's cells; the difference describes one person.

The rules (both fail closed: a release that breaks one is held, not published):

- **Microdata**: within every equivalence class of the released quasi-identifiers, the records
  that entered, left or changed their sensitive value since the last release must be none or
  at least ``k``. A class that changed by fewer than ``k`` records singles out those records.
  This compares records by their internal pseudonym, which never leaves the company.
- **Tables under suppression**: a cell whose true count changed by more than zero and less
  than the threshold is safe only if it was suppressed in both releases. Published in either
  release, the change (or the old value, when a suppressed cell appears) is recoverable.

m-invariance (Xiao and Tao, SIGMOD 2007) solves the general problem of re-publishing a changing
dataset with counterfeit records; these rules are the simpler, stricter check that holds a
release back instead (see the README for what that does and does not cover).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class MicrodataDifference:
    """How two microdata releases differ, per equivalence class (counts only)."""

    classes_compared: int
    classes_changed: int
    classes_changed_below_k: int
    records_changed: int

    @property
    def safe(self) -> bool:
        return self.classes_changed_below_k == 0


@dataclass(frozen=True)
class TableDifference:
    """How two releases of one table differ, per cell (counts only)."""

    cells_compared: int
    cells_changed: int
    cells_at_risk: int

    @property
    def safe(self) -> bool:
        return self.cells_at_risk == 0


def microdata_difference(
    old: pd.DataFrame,
    new: pd.DataFrame,
    /,
    *,
    qi: Sequence[str],
    sensitive: str | None,
    unit: str,
    k: int,
) -> MicrodataDifference:
    """Per class of ``qi``: records (by ``unit``) that entered, left or changed ``sensitive``.

    Examples
    --------
    >>> old = pd.DataFrame({"u": ["a", "b"], "age": ["30-34"] * 2, "c": ["nail", "body"]})
    >>> microdata_difference(old, old.iloc[1:], qi=["age"], sensitive="c", unit="u", k=2).safe
    False
    """
    columns = [unit, *qi, *([sensitive] if sensitive else [])]
    before = old[columns].astype("str").assign(_side=1)
    after = new[columns].astype("str").assign(_side=2)
    both = pd.concat([before, after], ignore_index=True)
    # A record is unchanged when the same unit has the same released row in both releases.
    sides = both.groupby(columns, sort=False)["_side"].sum()
    changed = sides[sides != 3].reset_index()
    per_class = changed.groupby(list(qi), sort=False)[unit].nunique()
    classes = both[list(qi)].drop_duplicates()
    below = per_class[(per_class > 0) & (per_class < k)]
    return MicrodataDifference(
        classes_compared=len(classes),
        classes_changed=int((per_class > 0).sum()),
        classes_changed_below_k=len(below),
        records_changed=int(changed[unit].nunique()),
    )


def table_difference(
    old: pd.DataFrame,
    new: pd.DataFrame,
    /,
    *,
    dimensions: Sequence[str],
    count: str,
    suppressed: str,
    threshold: int,
) -> TableDifference:
    """Cells whose true count moved by 1..threshold-1 and that were published in either release.

    ``old`` and ``new`` hold the true counts (internal) and each release's suppression flag.
    """
    keys = list(dimensions)
    merged = old[[*keys, count, suppressed]].merge(
        new[[*keys, count, suppressed]], on=keys, how="outer", suffixes=("_old", "_new")
    )
    before = merged[f"{count}_old"].fillna(0).to_numpy(dtype=np.int64)
    after = merged[f"{count}_new"].fillna(0).to_numpy(dtype=np.int64)
    hidden_before = merged[f"{suppressed}_old"].fillna(True).to_numpy(dtype=bool)
    hidden_after = merged[f"{suppressed}_new"].fillna(True).to_numpy(dtype=bool)
    delta = np.abs(after - before)
    small = (delta > 0) & (delta < threshold)
    at_risk = small & ~(hidden_before & hidden_after)
    return TableDifference(
        cells_compared=len(merged),
        cells_changed=int(np.count_nonzero(delta)),
        cells_at_risk=int(np.count_nonzero(at_risk)),
    )
