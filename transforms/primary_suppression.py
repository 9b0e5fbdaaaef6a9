"""Primary suppression: which cells are sensitive on their own, and how wide they must stay.

Each rule returns a :class:`PrimarySuppression`: a boolean mask over the cells (frame row
order) and a per-cell *protection level*, the width the attacker's feasible interval for that
cell must keep after secondary suppression (``transforms.secondary_suppression.protect``) and
that the audit (``transforms.suppression_audit.audit``) checks. Rules apply to every cell,
margins included: a subtotal of three customers is as small as a leaf of three.

Inputs are the builder's per-cell columns: ``contributors`` (distinct customers), ``value``
and, for magnitudes, ``top1 >= top2 >= top3`` (the largest per-customer sums, 0 when absent).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from transforms.errors import ConfigurationError, DataError

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PrimarySuppression:
    """Sensitive cells and their protection levels (0 where not sensitive)."""

    rule: str
    sensitive: BoolArray
    protection: FloatArray

    @property
    def count(self) -> int:
        return int(self.sensitive.sum())


def threshold_rule(
    cells: pd.DataFrame,
    *,
    n: int,
    protection: float | None = None,
    contributors: str = "contributors",
) -> PrimarySuppression:
    """Cells with ``0 < contributors < n`` are sensitive.

    A zero cell is not: in a table of customers a published 0 says "nobody", which reveals
    nothing about a person, while a suppressed cell then reads "between 1 and n-1".

    The protection level defaults to ``n``: the attacker's interval for a sensitive cell must
    span at least ``n`` (for a cell of 1 that is e.g. 0..n), so it always contains values at
    and above the threshold and cannot single the cell out as "fewer than n". It is a
    symmetric width requirement, not tau-ARGUS' separate upper/lower levels; ``protect``
    spends it in both directions (see there).
    """
    _check_int("threshold rule", "n", n, minimum=2)
    level = (
        float(n)
        if protection is None
        else _check_positive("threshold rule", "protection", protection)
    )
    count = _column(cells, contributors, "threshold rule")
    sensitive = (count > 0) & (count < n)
    return PrimarySuppression("threshold", sensitive, np.where(sensitive, level, 0.0))


def dominance_rule(
    cells: pd.DataFrame,
    *,
    n: int,
    k: float,
    value: str = "value",
    top: tuple[str, ...] = ("top1", "top2", "top3"),
) -> PrimarySuppression:
    """(n, k) dominance: the ``n`` largest contributions exceed ``k`` % of the cell value.

    Protection level: the increase of the cell value that would bring the top-``n`` sum back
    to ``k`` % of it, ``100/k * T_n - value`` (the usual upper protection level of the rule):
    the attacker must not be able to bound the cell below the value at which it is safe.
    """
    _check_int("dominance rule", "n", n, minimum=1)
    if n > len(top):
        raise ConfigurationError(
            f"dominance rule: parameter 'n' exceeds the {len(top)} top contribution column(s)"
        )
    if not (isinstance(k, (int, float)) and 0 < k < 100 and math.isfinite(k)):
        raise ConfigurationError("dominance rule: parameter 'k' must be a percentage in (0, 100)")
    total = _column(cells, value, "dominance rule")
    top_n = sum((_column(cells, c, "dominance rule") for c in top[:n]), np.zeros(len(cells)))
    sensitive = (total > 0) & (top_n > k / 100.0 * total)
    level = np.where(sensitive, 100.0 / k * top_n - total, 0.0)
    return PrimarySuppression(f"dominance({n},{k:g})", sensitive, level)


def p_percent_rule(
    cells: pd.DataFrame,
    *,
    p: float,
    value: str = "value",
    top1: str = "top1",
    top2: str = "top2",
) -> PrimarySuppression:
    """p % rule: ``value - top1 - top2 < p/100 * top1``.

    The second-largest contributor knows its own share; the rest of the cell is all that hides
    the largest contribution, and it must be at least ``p`` % of it. Protection level: the
    missing part, ``p/100 * top1 - (value - top1 - top2)``.
    """
    if not (isinstance(p, (int, float)) and 0 < p <= 100 and math.isfinite(p)):
        raise ConfigurationError("p % rule: parameter 'p' must be a percentage in (0, 100]")
    total = _column(cells, value, "p % rule")
    first = _column(cells, top1, "p % rule")
    second = _column(cells, top2, "p % rule")
    shortfall = p / 100.0 * first - (total - first - second)
    sensitive = (total > 0) & (shortfall > 0)
    return PrimarySuppression(f"p%({p:g})", sensitive, np.where(sensitive, shortfall, 0.0))


def combine(*rules: PrimarySuppression) -> PrimarySuppression:
    """Union of sensitive cells; each cell keeps the largest protection level asked of it."""
    if not rules:
        raise ConfigurationError("primary suppression: parameter 'rules' is empty")
    sensitive = np.logical_or.reduce([r.sensitive for r in rules])
    protection = np.maximum.reduce([r.protection for r in rules])
    return PrimarySuppression("+".join(r.rule for r in rules), sensitive, protection)


def _column(cells: pd.DataFrame, name: str, rule: str) -> FloatArray:
    if name not in cells.columns:
        raise DataError(f"{rule}: column {name!r} missing")
    column: FloatArray = pd.to_numeric(cells[name], errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    if not np.isfinite(column).all() or (column < 0).any():
        raise DataError(f"{rule}: column {name!r} must be finite and non-negative")
    return column


def _check_int(rule: str, name: str, value: object, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigurationError(f"{rule}: parameter {name!r} must be an integer >= {minimum}")


def _check_positive(rule: str, name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigurationError(f"{rule}: parameter {name!r} must be a positive number")
    if not math.isfinite(value):
        raise ConfigurationError(f"{rule}: parameter {name!r} must be a positive number")
    return float(value)
