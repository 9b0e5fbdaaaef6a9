"""Protect a table's cells and say what was done: the published frame and its summary.

The published frame has the dimension columns, ``value`` and ``flag``, plus ``responses`` for
means and shares (each flag: ``""`` published as is, ``suppressed-primary``,
``suppressed-secondary``, ``perturbed``, ``noisy``); a suppressed value is empty. Means and
shares are published with their number of responses, suppressed together.

The internal frame keeps, per cell, the true value, the contributors, the largest
contributions and the flag: what the gate re-checks and the differencing gate compares.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from transforms.table_structure import TableDimension, interior_mask

FLAGS = ("", "suppressed-primary", "suppressed-secondary", "perturbed", "noisy")
PRIMARY, SECONDARY, PERTURBED, NOISY = FLAGS[1:]
MEAN_KINDS = ("mean", "top_box_share")


@dataclass(frozen=True)
class ProtectedTable:
    """A protected table: what is published, what stays internal, and its summary."""

    published: pd.DataFrame
    internal: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


def additive_column(kind: str) -> str:
    """The column whose cells add up along every dimension (what suppression protects):
    ``responses`` for means and shares, ``value`` otherwise."""
    return "responses" if kind in MEAN_KINDS else "value"


def published_values(cells: pd.DataFrame, kind: str, shown: np.ndarray) -> pd.Series:
    """The published ``value`` column: integers for counts and sums, means to 2 decimals and
    shares to 3, empty where a cell is not shown."""
    if kind in MEAN_KINDS:
        responses = cells["responses"].to_numpy(dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = cells["value"].to_numpy(dtype=np.float64) / responses
        digits = 2 if kind == "mean" else 3
        out = pd.Series(np.round(ratio, digits), dtype="Float64")
        return out.mask(~shown | (responses == 0))
    return pd.Series(np.round(cells["value"].to_numpy()), dtype="Int64").mask(~shown)


def finish_table(
    cells: pd.DataFrame,
    dims: Sequence[TableDimension],
    *,
    kind: str,
    flags: np.ndarray,
    values: pd.Series,
    method: dict[str, Any],
) -> ProtectedTable:
    """Assemble the published and internal frames and the summary from a method's flags."""
    names = [d.name for d in dims]
    published = cells[names].copy()
    published["value"] = values.array
    if kind in MEAN_KINDS:
        shown = ~pd.Series(flags).str.startswith("suppressed").to_numpy()
        published["responses"] = pd.Series(cells["responses"].to_numpy(), dtype="Int64").mask(
            ~shown
        )
    published["flag"] = pd.Series(flags, dtype="string").to_numpy()
    internal = cells.copy()
    internal["flag"] = flags
    internal["suppressed"] = pd.Series(flags).str.startswith("suppressed").to_numpy()
    internal["published"] = values.array
    return ProtectedTable(published, internal, summarize(cells, dims, kind, flags, method))


def summarize(
    cells: pd.DataFrame,
    dims: Sequence[TableDimension],
    kind: str,
    flags: np.ndarray,
    method: dict[str, Any],
) -> dict[str, Any]:
    """Cells, published share of the interior, suppressed (primary, secondary), perturbed,
    and the information loss: the share of the table's total in suppressed interior cells."""
    interior = interior_mask(cells, dims)
    flag = pd.Series(flags)
    suppressed = flag.str.startswith("suppressed").to_numpy()
    measure = cells[additive_column(kind)].to_numpy(dtype=np.float64)
    total = float(measure[interior].sum())
    lost = float(measure[interior & suppressed].sum())
    n_interior = int(interior.sum())
    return {
        "cells": len(cells),
        "interior_cells": n_interior,
        "published_share": round(1 - float((interior & suppressed).sum()) / max(n_interior, 1), 4),
        "suppressed_primary": int((flag == PRIMARY).sum()),
        "suppressed_secondary": int((flag == SECONDARY).sum()),
        "perturbed": int((flag == PERTURBED).sum()),
        "noisy": int((flag == NOISY).sum()),
        "information_loss": round(lost / total, 4) if total else 0.0,
        **method,
    }
