"""Primary disclosure rules for statistical tables: minimum frequency, dominance and p %.

Input form (produced by the table builder, never released as such):

- frequency tables: a count column (``count``); a suppressed cell is null.
- magnitude tables (sums of yen): per cell the cell ``total`` and its largest contributions in
  descending order, one column each: ``top1`` (largest single customer's contribution), ``top2``
  (second largest), ... A cell with a single contributor has ``top2 = 0``. A suppressed cell has
  a null ``total``. The ``topN`` columns exist only for this check: the publisher drops them.

All functions are vectorized and return counts of offending cells, never cell values. A cell
that cannot be verified is unsafe: a count or total that is present but not a number, or a
published magnitude cell whose needed top contributions are missing.

- minimum count: a published count ``0 < count < n`` is unsafe (``0`` is allowed unless
  ``allow_zero=False``).
- dominance (n, k): a cell is unsafe when its ``n`` largest contributors make up more than
  ``k`` % of the total (e.g. (1, 50) or (2, 85)).
- p % rule: a cell is unsafe when the second largest contributor could estimate the largest to
  within ``p`` %: ``total - top1 - top2 < p / 100 * top1``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from transforms.errors import ConfigurationError


def _numeric(df: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Numbers of a column (NaN where null or not a number) and where a value is present but
    not a number: such a cell cannot be verified, so the rules count it as unsafe rather than
    as suppressed."""
    raw = df[column]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    unreadable = raw.notna().to_numpy(dtype=bool) & np.isnan(values)
    return values, unreadable


def count_small_cells(
    df: pd.DataFrame, /, *, count_column: str, min_count: int, allow_zero: bool = True
) -> dict[str, int]:
    """Cells below ``min_count`` (suppressed/null cells are safe). Returns counts only."""
    counts, unreadable = _numeric(df, count_column)
    published = ~np.isnan(counts)
    small = published & (counts < min_count)
    if allow_zero:
        small &= counts != 0
    return {
        "n_cells": len(counts),
        "n_suppressed": int((~published & ~unreadable).sum()),
        "n_unsafe": int((small | unreadable).sum()),
    }


def count_dominated_cells(
    df: pd.DataFrame,
    /,
    *,
    total_column: str,
    top_columns: Sequence[str],
    n: int,
    k: float,
) -> dict[str, int]:
    """Cells whose ``n`` largest contributions exceed ``k`` % of the total."""
    if n < 1 or n > len(top_columns):
        raise CellRuleConfigError("n", f"needs 1 <= n <= {len(top_columns)} top columns")
    total, bad_total = _numeric(df, total_column)
    tops = [_numeric(df, c)[0] for c in top_columns[:n]]
    published = ~np.isnan(total) & (total > 0)
    # a published cell whose contributions are missing cannot be shown safe
    unknown = published & np.logical_or.reduce([np.isnan(t) for t in tops])
    top = np.column_stack([np.nan_to_num(t) for t in tops]).sum(axis=1)
    unsafe = (published & (top > (k / 100.0) * total)) | unknown | bad_total
    return {
        "n_cells": len(total),
        "n_suppressed": int((np.isnan(total) & ~bad_total).sum()),
        "n_unsafe": int(unsafe.sum()),
    }


def count_p_percent_cells(
    df: pd.DataFrame,
    /,
    *,
    total_column: str,
    top1_column: str,
    top2_column: str,
    p: float,
) -> dict[str, int]:
    """Cells where the second largest contributor can estimate the largest within ``p`` %."""
    total, bad_total = _numeric(df, total_column)
    top1, top2 = _numeric(df, top1_column)[0], _numeric(df, top2_column)[0]
    published = ~np.isnan(total) & (total > 0)
    unknown = published & (np.isnan(top1) | np.isnan(top2))  # cannot be shown safe
    top1, top2 = np.nan_to_num(top1), np.nan_to_num(top2)
    unsafe = (published & ((total - top1 - top2) < (p / 100.0) * top1)) | unknown | bad_total
    return {
        "n_cells": len(total),
        "n_suppressed": int((np.isnan(total) & ~bad_total).sum()),
        "n_unsafe": int(unsafe.sum()),
    }


class CellRuleConfigError(ConfigurationError):
    """A disclosure rule was configured with impossible parameters."""

    def __init__(self, parameter: str, problem: str) -> None:
        self.parameter = parameter
        self.problem = problem
        super().__init__(f"{parameter}: {problem}")
